#include "matcomp/formats/bit_packing.h"

#include <bit>
#include <cstring>

#include "matcomp/core/error.h"

namespace mc {

namespace {

// Reads element i of an integer array as its 64-bit pattern (sign-extended for signed dtypes).
uint64_t load_bits(const NpyArray& a, size_t item, size_t i) {
  const uint8_t* p = a.bytes.data() + i * item;
  uint64_t raw = 0;
  std::memcpy(&raw, p, item);  // little-endian host, as everywhere in matcomp
  if (is_signed_dtype(a.dtype) && item < 8) {
    const int shift = static_cast<int>(64 - 8 * item);
    raw = static_cast<uint64_t>(static_cast<int64_t>(raw << shift) >> shift);
  }
  return raw;
}

// Whether the 64-bit pattern `v` is a value the dtype can hold.
bool fits(uint64_t v, const std::string& dtype, size_t item) {
  if (item == 8) return true;
  const int width = static_cast<int>(8 * item);
  if (is_signed_dtype(dtype)) {
    const auto s = static_cast<int64_t>(v);
    return s >= -(int64_t{1} << (width - 1)) && s < (int64_t{1} << (width - 1));
  }
  return v < (uint64_t{1} << width);
}

}  // namespace

bool is_integer_dtype(const std::string& d) {
  return d == "|u1" || d == "|i1" || d == "|b1" || d == "<u2" || d == "<i2" || d == "<u4" || d == "<i4" || d == "<u8" ||
         d == "<i8";
}

bool is_signed_dtype(const std::string& d) { return d == "|i1" || d == "<i2" || d == "<i4" || d == "<i8"; }

uint64_t packed_byte_count(uint64_t numel, int bits, const std::string& what) {
  MC_CHECK(bits >= 0 && bits <= 64, IoError, what << ": bit width " << bits << " outside 0..64");
  uint64_t total_bits = 0;
  MC_CHECK(!__builtin_mul_overflow(numel, static_cast<uint64_t>(bits), &total_bits), IoError,
           what << ": " << numel << " values at " << bits << " bits overflow 64-bit size arithmetic");
  return total_bits / 8 + (total_bits % 8 != 0 ? 1 : 0);
}

PackedIntegers pack_integers(const NpyArray& a) {
  MC_CHECK(is_integer_dtype(a.dtype), ValueError, "pack_integers: dtype " << a.dtype << " is not an integer type");
  const size_t item = npy_item_size(a.dtype);
  const auto n = static_cast<uint64_t>(numel_of(a.shape));
  MC_CHECK(a.bytes.size() == n * item, ValueError,
           "pack_integers: " << a.bytes.size() << " bytes for shape " << to_string(a.shape) << " of " << a.dtype);
  const bool is_signed = is_signed_dtype(a.dtype);
  // Order the 64-bit patterns as the dtype orders its values: flip the sign bit for signed ones.
  const uint64_t order_flip = is_signed ? (uint64_t{1} << 63) : 0;
  uint64_t lo = ~uint64_t{0}, hi = 0;
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t key = load_bits(a, item, i) ^ order_flip;
    lo = std::min(lo, key);
    hi = std::max(hi, key);
  }
  PackedIntegers p;
  p.dtype = a.dtype;
  p.shape = a.shape;
  if (n == 0) lo = hi = order_flip;
  p.min_bits = lo ^ order_flip;
  p.bits = 64 - std::countl_zero(hi - lo);  // 0 when every value is equal
  p.bytes.assign(packed_byte_count(n, p.bits, "pack_integers"), '\0');
  if (p.bits == 0) return p;
  uint64_t bit = 0;
  for (uint64_t i = 0; i < n; ++i, bit += static_cast<uint64_t>(p.bits)) {
    const uint64_t v = load_bits(a, item, i) - p.min_bits;  // mod 2^64: fits in `bits` bits
    for (int b = 0; b < p.bits;) {  // one byte (or the part of it this value covers) at a time
      const uint64_t at = bit + static_cast<uint64_t>(b);
      const int in_byte = static_cast<int>(at % 8);
      const int take = std::min(8 - in_byte, p.bits - b);
      const uint64_t chunk = (v >> b) & ((uint64_t{1} << take) - 1);
      p.bytes[at / 8] = static_cast<char>(static_cast<uint8_t>(p.bytes[at / 8]) | (chunk << in_byte));
      b += take;
    }
  }
  return p;
}

NpyArray unpack_integers(const PackedIntegers& p, const std::string& what) {
  MC_CHECK(is_integer_dtype(p.dtype), IoError, what << ": dtype " << p.dtype << " is not an integer type");
  const size_t item = npy_item_size(p.dtype);
  const auto n = static_cast<uint64_t>(numel_of(p.shape));
  const uint64_t expected = packed_byte_count(n, p.bits, what);
  MC_CHECK(p.bytes.size() == expected, IoError,
           what << ": " << p.bytes.size() << " packed bytes, shape " << to_string(p.shape) << " at " << p.bits << " bits needs "
                << expected);
  uint64_t out_bytes = 0;
  MC_CHECK(!__builtin_mul_overflow(n, static_cast<uint64_t>(item), &out_bytes), IoError, what << ": size overflows");
  NpyArray a{p.dtype, p.shape, std::vector<uint8_t>(out_bytes)};
  const auto* in = reinterpret_cast<const uint8_t*>(p.bytes.data());
  uint64_t bit = 0;
  for (uint64_t i = 0; i < n; ++i, bit += static_cast<uint64_t>(p.bits)) {
    uint64_t v = 0;
    for (int b = 0; b < p.bits;) {
      const uint64_t at = bit + static_cast<uint64_t>(b);
      const int in_byte = static_cast<int>(at % 8);
      const int take = std::min(8 - in_byte, p.bits - b);
      v |= ((static_cast<uint64_t>(in[at / 8]) >> in_byte) & ((uint64_t{1} << take) - 1)) << b;
      b += take;
    }
    const uint64_t value = p.min_bits + v;
    MC_CHECK(fits(value, p.dtype, item) && (p.dtype != "|b1" || value <= 1), IoError,
             what << ": element " << i << " does not fit dtype " << p.dtype);
    std::memcpy(a.bytes.data() + i * item, &value, item);
  }
  return a;
}

}  // namespace mc
