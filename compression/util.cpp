#include "matcomp/compression/util.h"

#include <cmath>
#include <cstring>

#include "matcomp/core/error.h"

namespace mc {

void check_matrix(const Tensor& a, const std::string& who) {
  MC_CHECK(a.defined() && a.dim() == 2, ValueError,
           who << ": expected a 2-D matrix, got " << (a.defined() ? to_string(a.shape()) : std::string("an undefined tensor")));
  MC_CHECK(a.size(0) > 0 && a.size(1) > 0, ValueError, who << ": empty matrix " << to_string(a.shape()));
  const float* p = a.data();
  for (int64_t i = 0; i < a.numel(); ++i)
    MC_CHECK(std::isfinite(p[i]), ValueError,
             who << ": input holds a non-finite value (" << p[i] << ") at flat index " << i);
}

int64_t index_bits(int64_t range) {
  int64_t bits = 0;
  while (bits < 63 && (int64_t{1} << bits) < range) ++bits;
  return bits;
}

void check_smaller_than_dense(const std::string& method, int64_t bits, int64_t m, int64_t n,
                              const std::string& limit_text) {
  MC_CHECK(bits < dense_bits(m, n), ValueError,
           method << ": these settings store " << bits << " bits, not less than the dense " << m << "x" << n
                  << " float32 matrix (" << dense_bits(m, n) << " bits); " << limit_text);
}

Tensor& grad_slot(std::vector<Tensor>& factor_grads, size_t i, const Tensor& like, size_t n_factors) {
  if (factor_grads.size() < n_factors) factor_grads.resize(n_factors);
  Tensor& g = factor_grads[i];
  if (!g.defined()) g = Tensor::zeros(like.shape());
  MC_CHECK(g.numel() == like.numel(), ShapeError,
           "factor gradient " << i << " is " << to_string(g.shape()) << ", factor is " << to_string(like.shape()));
  return g;
}

NpyArray pack_codes(const std::vector<int32_t>& codes, Shape shape, int64_t max_value) {
  NpyArray arr;
  arr.shape = std::move(shape);
  if (max_value <= 255) {
    arr.dtype = "|u1";
    arr.bytes.resize(codes.size());
    for (size_t i = 0; i < codes.size(); ++i) arr.bytes[i] = static_cast<uint8_t>(codes[i]);
  } else if (max_value <= 65535) {
    arr.dtype = "<u2";
    arr.bytes.resize(codes.size() * 2);
    for (size_t i = 0; i < codes.size(); ++i) {
      const auto v = static_cast<uint16_t>(codes[i]);
      std::memcpy(arr.bytes.data() + 2 * i, &v, 2);
    }
  } else {
    arr.dtype = "<i4";
    arr.bytes.resize(codes.size() * 4);
    std::memcpy(arr.bytes.data(), codes.data(), codes.size() * 4);
  }
  return arr;
}

std::vector<int32_t> unpack_ints(const NpyArray& arr, const std::string& who) {
  const size_t item = npy_item_size(arr.dtype);
  const size_t n = arr.bytes.size() / item;
  std::vector<int32_t> out(n);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = arr.bytes.data() + i * item;
    if (arr.dtype == "|u1") {
      out[i] = p[0];
    } else if (arr.dtype == "|i1") {
      out[i] = static_cast<int8_t>(p[0]);
    } else if (arr.dtype == "<u2") {
      uint16_t v;
      std::memcpy(&v, p, 2);
      out[i] = v;
    } else if (arr.dtype == "<i2") {
      int16_t v;
      std::memcpy(&v, p, 2);
      out[i] = v;
    } else if (arr.dtype == "<i4") {
      std::memcpy(&out[i], p, 4);
    } else if (arr.dtype == "<i8") {
      int64_t v;
      std::memcpy(&v, p, 8);
      MC_CHECK(v >= INT32_MIN && v <= INT32_MAX, ValueError, who << ": integer " << v << " out of range");
      out[i] = static_cast<int32_t>(v);
    } else {
      throw ValueError(who + ": expected an integer array, found dtype " + arr.dtype);
    }
  }
  return out;
}

NpyArray pack_u64(uint64_t value) {
  NpyArray arr{"<u8", {1}, std::vector<uint8_t>(8)};
  std::memcpy(arr.bytes.data(), &value, 8);
  return arr;
}

uint64_t unpack_u64(const NpyArray& arr, const std::string& who) {
  MC_CHECK((arr.dtype == "<u8" || arr.dtype == "<i8") && arr.bytes.size() == 8, ValueError,
           who << ": expected one 64-bit integer, found " << arr.dtype << " " << to_string(arr.shape));
  uint64_t v;
  std::memcpy(&v, arr.bytes.data(), 8);
  return v;
}

const Tensor& need_factor(const std::map<std::string, Tensor>& factors, const std::string& name,
                          const std::string& who) {
  const auto it = factors.find(name);
  MC_CHECK(it != factors.end() && it->second.defined(), ValueError, who << ": factor '" << name << "' is missing");
  return it->second;
}

const NpyArray& need_state(const std::map<std::string, NpyArray>& state, const std::string& name,
                           const std::string& who) {
  const auto it = state.find(name);
  MC_CHECK(it != state.end(), ValueError, who << ": integer state '" << name << "' is missing");
  return it->second;
}

}  // namespace mc
