#include "matcomp/compression/methods/quantize.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "matcomp/compression/util.h"
#include "matcomp/core/error.h"

namespace mc {

namespace {

void check_bits(int64_t bits) {
  MC_CHECK(bits >= 1 && bits <= 8, ValueError, "quantize: bits must be in 1..8, got " << bits);
}

// The grid's levels in units of the scale: u[q] = (2 q - top) / top, from -1 to 1.
std::vector<float> unit_levels(int bits) {
  const int top = (1 << bits) - 1;
  std::vector<float> u(static_cast<size_t>(top + 1));
  for (int q = 0; q <= top; ++q) u[static_cast<size_t>(q)] = static_cast<float>(2 * q - top) / static_cast<float>(top);
  return u;
}

// Column j of A (m, n) fitted to the grid offset + scale u[q].
struct ColumnFit {
  double scale = 0, offset = 0;
};

// Nearest level of the grid for value v (clamped to the grid's ends).
inline uint8_t nearest(double v, double scale, double offset, int top) {
  if (!(scale > 0)) return static_cast<uint8_t>((top + 1) / 2);  // constant column: any code
  const double q = std::nearbyint(((v - offset) / scale + 1.0) * 0.5 * top);
  return static_cast<uint8_t>(std::clamp(q, 0.0, static_cast<double>(top)));
}

double squared_error(const std::vector<double>& col, const std::vector<uint8_t>& q, const ColumnFit& f,
                     const std::vector<float>& u) {
  double e = 0;
  for (size_t i = 0; i < col.size(); ++i) {
    const double d = col[i] - (f.offset + f.scale * u[q[i]]);
    e += d * d;
  }
  return e;
}

ColumnFit fit_column(const std::vector<double>& col, const std::vector<float>& u, int iters, std::vector<uint8_t>& q) {
  const int top = static_cast<int>(u.size()) - 1;
  const auto [lo_it, hi_it] = std::minmax_element(col.begin(), col.end());
  const double lo = *lo_it, hi = *hi_it;
  ColumnFit f{0.5 * (hi - lo), 0.5 * (lo + hi)};
  for (size_t i = 0; i < col.size(); ++i) q[i] = nearest(col[i], f.scale, f.offset, top);
  if (!(f.scale > 0)) return f;
  double err = squared_error(col, q, f, u);
  std::vector<uint8_t> next(q.size());
  for (int it = 0; it < iters; ++it) {
    // Least squares of col on (1, u[q]): the best grid for these codes.
    double um = 0, am = 0;
    for (size_t i = 0; i < col.size(); ++i) um += u[q[i]], am += col[i];
    um /= static_cast<double>(col.size());
    am /= static_cast<double>(col.size());
    double suu = 0, sua = 0;
    for (size_t i = 0; i < col.size(); ++i) {
      suu += (u[q[i]] - um) * (u[q[i]] - um);
      sua += (u[q[i]] - um) * (col[i] - am);
    }
    if (!(suu > 0) || !(sua > 0)) break;
    ColumnFit g;
    g.scale = sua / suu;
    g.offset = am - g.scale * um;
    for (size_t i = 0; i < col.size(); ++i) next[i] = nearest(col[i], g.scale, g.offset, top);
    const double e = squared_error(col, next, g, u);
    if (!(e < err)) break;  // a fixed point (or rounding noise): keep the better one
    const bool settled = next == q;
    f = g;
    err = e;
    q.swap(next);
    if (settled) break;
  }
  return f;
}

// Settings ----------------------------------------------------------------------------------
int64_t int_setting(const nlohmann::json& s, const std::string& key, int64_t fallback, bool required) {
  if (!s.is_object() || !s.contains(key)) {
    MC_CHECK(!required, ValueError, "quantize: missing required setting '" << key << "'");
    return fallback;
  }
  const auto& v = s.at(key);
  MC_CHECK(v.is_number_integer() || (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>()), ValueError,
           "quantize: setting '" << key << "' must be an integer, got " << v.dump());
  return v.is_number_integer() ? v.get<int64_t>() : static_cast<int64_t>(v.get<double>());
}

void check_keys(const nlohmann::json& s) {
  MC_CHECK(s.is_object() || s.is_null(), ValueError, "quantize: settings must be a JSON object, got " << s.dump());
  if (s.is_null()) return;
  for (auto it = s.begin(); it != s.end(); ++it)
    MC_CHECK(it.key() == "bits" || it.key() == "iters", ValueError,
             "quantize: unknown setting '" << it.key() << "' (known: bits, iters)");
}

std::unique_ptr<MatrixCompressor> make_quantize(const nlohmann::json& s) {
  check_keys(s);
  QuantizeSettings qs;
  const int64_t bits = int_setting(s, "bits", 0, true);
  check_bits(bits);
  qs.bits = static_cast<int>(bits);
  const int64_t iters = int_setting(s, "iters", qs.iters, false);
  MC_CHECK(iters >= 0 && iters <= 10000, ValueError, "quantize: iters must be in 0..10000, got " << iters);
  qs.iters = static_cast<int>(iters);
  return std::make_unique<QuantizeCompressor>(qs);
}

std::unique_ptr<MatrixCompressor> ratio_quantize(int64_t m, int64_t n, double ratio, const nlohmann::json& options) {
  MC_CHECK(!options.is_object() || !options.contains("bits"), ValueError,
           "quantize: 'bits' is what the ratio chooses; give either a ratio or bits");
  const double budget = ratio * static_cast<double>(dense_bits(m, n));
  int bits = 0;
  for (int b = 8; b >= 1 && bits == 0; --b) {
    const int64_t stored = quantize_stored_bits(m, n, b);
    if (static_cast<double>(stored) <= budget && stored < dense_bits(m, n)) bits = b;
  }
  MC_CHECK(bits >= 1, ValueError,
           "quantize: ratio " << ratio << " is below what 1 bit per entry needs for " << m << "x" << n << ": (m n + 64 n) / (32 m n) = "
                              << static_cast<double>(quantize_stored_bits(m, n, 1)) / static_cast<double>(dense_bits(m, n)));
  nlohmann::json s = options.is_object() ? options : nlohmann::json::object();
  s["bits"] = bits;
  return make_quantize(s);
}

std::unique_ptr<CompressedMatrix> restore_quantize(const nlohmann::json& s, const std::map<std::string, Tensor>& f,
                                                   const std::map<std::string, NpyArray>& st) {
  check_keys(s);
  const int64_t bits = int_setting(s, "bits", 0, true);
  check_bits(bits);
  const NpyArray& codes = need_state(st, "codes", "quantize");
  MC_CHECK(codes.shape.size() == 2, ValueError, "quantize: codes must be 2-D, got " << to_string(codes.shape));
  const std::vector<int32_t> v = unpack_ints(codes, "quantize codes");
  std::vector<uint8_t> q(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    MC_CHECK(v[i] >= 0 && v[i] < (1 << bits), ValueError,
             "quantize: code " << v[i] << " at " << i << " outside 0.." << (1 << bits) - 1 << " for " << bits << " bits");
    q[i] = static_cast<uint8_t>(v[i]);
  }
  const int64_t n = codes.shape[1];
  return std::make_unique<QuantizedMatrix>(codes.shape[0], n, static_cast<int>(bits),
                                           need_factor(f, "scale", "quantize").clone().view({n}),
                                           need_factor(f, "offset", "quantize").clone().view({n}), std::move(q));
}

}  // namespace

int64_t quantize_stored_bits(int64_t m, int64_t n, int bits) { return m * n * bits + 64 * n; }

MethodEntry quantize_method() { return {make_quantize, ratio_quantize, restore_quantize}; }

// -------------------------------------------------------------------------------------------
QuantizedMatrix::QuantizedMatrix(int64_t m, int64_t n, int bits, Tensor scale, Tensor offset, std::vector<uint8_t> codes)
    : m_(m), n_(n), bits_(bits), scale_(std::move(scale)), offset_(std::move(offset)), codes_(std::move(codes)) {
  check_bits(bits_);
  MC_CHECK(m_ > 0 && n_ > 0 && scale_.numel() == n_ && offset_.numel() == n_ &&
               static_cast<int64_t>(codes_.size()) == m_ * n_,
           ShapeError,
           "quantize: scale " << to_string(scale_.shape()) << ", offset " << to_string(offset_.shape()) << " and "
                              << codes_.size() << " codes do not fit a " << m_ << "x" << n_ << " matrix");
  const int top = (1 << bits_) - 1;
  for (uint8_t c : codes_)
    MC_CHECK(c <= top, ValueError, "quantize: code " << int(c) << " outside 0.." << top << " for " << bits_ << " bits");
  unit_ = unit_levels(bits_);
  // The scale's learning-rate factor: 1 / (mean over columns of sum_i u[q]^2), the squared
  // norm of dÂ[:, j] / d scale[j] (see factors()). Depends only on the frozen codes, so a
  // restored matrix gets the same one.
  double total = 0;
  for (uint8_t q : codes_) total += static_cast<double>(unit_[q]) * unit_[q];
  const double per_column = total / static_cast<double>(n_);
  scale_lr_ = static_cast<float>(1.0 / std::max(per_column, 1.0));
}

std::vector<Factor> QuantizedMatrix::factors() const {
  return {{"scale", scale_, true, scale_lr_}, {"offset", offset_, true, static_cast<float>(1.0 / static_cast<double>(m_))}};
}

nlohmann::json QuantizedMatrix::settings() const { return {{"bits", bits_}}; }

int64_t QuantizedMatrix::stored_bits() const { return quantize_stored_bits(m_, n_, bits_); }

Tensor QuantizedMatrix::materialize() const {
  Tensor out = Tensor::empty({m_, n_});
  const float* s = scale_.data();
  const float* z = offset_.data();
  const float* u = unit_.data();
  float* o = out.data();
  // Â (m, n): one row of codes at a time against the (n) scale and offset.
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < m_; ++i) {
    const uint8_t* q = codes_.data() + i * n_;
    float* row = o + i * n_;
    for (int64_t j = 0; j < n_; ++j) row[j] = z[j] + s[j] * u[q[j]];
  }
  return out;
}

void QuantizedMatrix::materialize_backward(const Tensor& d_dense, std::vector<Tensor>& grads) const {
  MC_CHECK(d_dense.numel() == m_ * n_, ShapeError,
           "quantize: gradient " << to_string(d_dense.shape()) << " does not fit a " << m_ << "x" << n_ << " matrix");
  Tensor& gs = grad_slot(grads, 0, scale_, 2);
  Tensor& gz = grad_slot(grads, 1, offset_, 2);
  // d scale[j] = sum_i dÂ[i, j] u[q[i, j]];  d offset[j] = sum_i dÂ[i, j]. Summed in double.
  // Blocks of columns over the threads, each walked row by row (unit stride): every column is
  // still summed over i in order, so the bits do not depend on the thread count.
  std::vector<double> ds(static_cast<size_t>(n_), 0.0), dz(static_cast<size_t>(n_), 0.0);
  const float* d = d_dense.data();
  const uint8_t* codes = codes_.data();
  const float* unit = unit_.data();
  constexpr int64_t kBlock = 512;
#pragma omp parallel for schedule(static)
  for (int64_t j0 = 0; j0 < n_; j0 += kBlock) {
    const int64_t j1 = std::min(n_, j0 + kBlock);
    for (int64_t i = 0; i < m_; ++i) {
      const uint8_t* q = codes + i * n_;
      const float* row = d + i * n_;
      for (int64_t j = j0; j < j1; ++j) {
        ds[static_cast<size_t>(j)] += static_cast<double>(row[j]) * unit[q[j]];
        dz[static_cast<size_t>(j)] += row[j];
      }
    }
  }
  float *pgs = gs.data(), *pgz = gz.data();
  for (int64_t j = 0; j < n_; ++j) {
    pgs[j] += static_cast<float>(ds[static_cast<size_t>(j)]);
    pgz[j] += static_cast<float>(dz[static_cast<size_t>(j)]);
  }
}

std::map<std::string, NpyArray> QuantizedMatrix::integer_state() const {
  return {{"codes", pack_codes(std::vector<int32_t>(codes_.begin(), codes_.end()), {m_, n_}, (1 << bits_) - 1)}};
}

// -------------------------------------------------------------------------------------------
QuantizeCompressor::QuantizeCompressor(QuantizeSettings settings) : s_(settings) {
  check_bits(s_.bits);
  MC_CHECK(s_.iters >= 0, ValueError, "quantize: iters must be >= 0, got " << s_.iters);
}

double QuantizeCompressor::ratio_for(int64_t m, int64_t n) const {
  return static_cast<double>(quantize_stored_bits(m, n, s_.bits)) / static_cast<double>(dense_bits(m, n));
}

std::unique_ptr<CompressedMatrix> QuantizeCompressor::compress(const Tensor& a, Rng&) const {
  check_matrix(a, "quantize");
  const int64_t m = a.size(0), n = a.size(1);
  check_smaller_than_dense("quantize", quantize_stored_bits(m, n, s_.bits), m, n,
                           "use fewer bits or a taller matrix (stored: m n bits + 64 n)");
  const int top = (1 << s_.bits) - 1;
  const std::vector<float> u = unit_levels(s_.bits);
  Tensor scale = Tensor::empty({n}), offset = Tensor::empty({n});
  std::vector<uint8_t> codes(static_cast<size_t>(m * n));
  const float* p = a.data();
#pragma omp parallel
  {
    std::vector<double> col(static_cast<size_t>(m));
    std::vector<uint8_t> q(static_cast<size_t>(m));
#pragma omp for schedule(dynamic, 4)
    for (int64_t j = 0; j < n; ++j) {
      for (int64_t i = 0; i < m; ++i) col[static_cast<size_t>(i)] = p[i * n + j];
      const ColumnFit f = fit_column(col, u, s_.iters, q);
      // The stored grid is float: the final codes are the nearest levels of that float grid,
      // so what materialize() computes is what was fitted.
      const float fs = static_cast<float>(f.scale), fz = static_cast<float>(f.offset);
      scale.data()[j] = fs;
      offset.data()[j] = fz;
      for (int64_t i = 0; i < m; ++i) codes[static_cast<size_t>(i * n + j)] = nearest(col[static_cast<size_t>(i)], fs, fz, top);
    }
  }
  return std::make_unique<QuantizedMatrix>(m, n, s_.bits, std::move(scale), std::move(offset), std::move(codes));
}

}  // namespace mc
