#include "matcomp/compression/methods/simhash.h"

#include <algorithm>
#include <cmath>

#include "matcomp/compression/util.h"
#include "matcomp/core/blas.h"
#include "matcomp/core/error.h"
#include "matcomp/core/rng.h"

namespace mc {

Tensor simhash_projection(int64_t m, int64_t k, uint64_t seed) {
  Tensor r = Tensor::empty({m, k});
  Rng rng(seed);
  rng.fill_normal(r, 0.0f, 1.0f);
  return r;
}

SimhashMatrix::SimhashMatrix(int64_t m, int64_t n, int64_t k, uint64_t seed, std::vector<int8_t> signs, Tensor scale)
    : m_(m), n_(n), k_(k), seed_(seed), signs_(std::move(signs)), scale_(std::move(scale)) {
  MC_CHECK(static_cast<int64_t>(signs_.size()) == k * n && scale_.numel() == n, ShapeError,
           "simhash: " << signs_.size() << " signs and " << scale_.numel() << " scales for k " << k << ", n " << n);
  Tensor s_float = Tensor::empty({k, n});
  for (int64_t i = 0; i < k * n; ++i) s_float.data()[i] = signs_[static_cast<size_t>(i)] >= 0 ? 1.0f : -1.0f;
  rs_ = matmul(simhash_projection(m, k, seed), s_float);
  inv_norm_ = simhash_inverse_column_norms(rs_);
}

Tensor SimhashMatrix::projection() const { return simhash_projection(m_, k_, seed_); }

Tensor simhash_inverse_column_norms(const Tensor& rs) {
  const int64_t m = rs.size(0), n = rs.size(1);
  std::vector<double> norm2(static_cast<size_t>(n), 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) norm2[static_cast<size_t>(j)] += static_cast<double>(rs.data()[i * n + j]) * rs.data()[i * n + j];
  Tensor inv = Tensor::empty({n});
  for (int64_t j = 0; j < n; ++j) {
    const double den = std::sqrt(norm2[static_cast<size_t>(j)]);
    inv.data()[j] = den > 0 ? static_cast<float>(1.0 / den) : 0.0f;
  }
  return inv;
}

Tensor SimhashMatrix::effective_scale() const {
  Tensor e = Tensor::empty({n_});
  for (int64_t j = 0; j < n_; ++j) e.data()[j] = scale_.data()[j] * inv_norm_.data()[j];
  return e;
}

nlohmann::json SimhashMatrix::settings() const { return {{"bits", k_}, {"seed", seed_}, {"rows", m_}}; }

Tensor SimhashMatrix::materialize() const {
  Tensor out = Tensor::empty({m_, n_});  // R S diag(e) (m, n)
  const Tensor e = effective_scale();
  const float *d = e.data(), *rs = rs_.data();
  float* o = out.data();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < m_; ++i)
    for (int64_t j = 0; j < n_; ++j) o[i * n_ + j] = rs[i * n_ + j] * d[j];
  return out;
}

namespace {
// acc_j (n) = sum over rows i of a_ij b_ij for a, b (rows, n), in double, the rows in order for
// every column. Blocks of columns walked row by row: unit stride through a and b (a column at
// a time strides n floats, 40 KB for PTB's softmax); the blocks go over the threads.
void column_dots(const float* a, const float* b, int64_t rows, int64_t n, std::vector<double>& acc) {
  constexpr int64_t kBlock = 512;
  acc.assign(static_cast<size_t>(n), 0.0);
#pragma omp parallel for schedule(static)
  for (int64_t j0 = 0; j0 < n; j0 += kBlock) {
    const int64_t j1 = std::min(n, j0 + kBlock);
    double* out = acc.data() + j0;
    for (int64_t r = 0; r < rows; ++r) {
      const float *ar = a + r * n, *br = b + r * n;
      for (int64_t j = j0; j < j1; ++j) out[j - j0] += static_cast<double>(ar[j]) * br[j];
    }
  }
}
}  // namespace

void SimhashMatrix::materialize_backward(const Tensor& d_dense, std::vector<Tensor>& grads) const {
  // dd_j += inv_j sum_i dÂ_ij (R S)_ij
  MC_CHECK(d_dense.numel() == m_ * n_, ShapeError,
           "simhash: gradient " << to_string(d_dense.shape()) << " for a " << m_ << "x" << n_ << " matrix");
  Tensor& gd = grad_slot(grads, 0, scale_, 1);
  std::vector<double> acc;
  column_dots(d_dense.data(), rs_.data(), m_, n_, acc);
  float* g = gd.data();
  const float* inv = inv_norm_.data();
  for (int64_t j = 0; j < n_; ++j) g[j] += static_cast<float>(acc[static_cast<size_t>(j)]) * inv[j];
}

void SimhashMatrix::multiply(const Tensor& x, Tensor& y) const {
  MC_CHECK(x.dim() == 2 && x.size(1) == m_, ShapeError,
           "simhash multiply: input " << to_string(x.shape()) << " does not fit a " << m_ << "x" << n_ << " matrix");
  if (multiplies_through_dense(x.size(0))) return CompressedMatrix::multiply(x, y);  // (batch, n) = x Â
  gemm(x, Trans::No, rs_, Trans::No, y);  // (batch, n) = x (R S)
  scale_columns(y, nullptr);
}

void SimhashMatrix::multiply_add_bias(const Tensor& x, const Tensor& bias, Tensor& y) const {
  MC_CHECK(x.dim() == 2 && x.size(1) == m_ && bias.numel() == n_, ShapeError,
           "simhash multiply: input " << to_string(x.shape()) << " or bias " << to_string(bias.shape()) << " does not fit a "
                                      << m_ << "x" << n_ << " matrix");
  if (multiplies_through_dense(x.size(0))) return CompressedMatrix::multiply_add_bias(x, bias, y);  // bias + x Â
  gemm(x, Trans::No, rs_, Trans::No, y);  // (batch, n) = x (R S)
  scale_columns(y, &bias);
}

void SimhashMatrix::scale_columns(Tensor& y, const Tensor* bias) const {
  const Tensor e = effective_scale();
  const float* d = e.data();
  const float* b = bias ? bias->data() : nullptr;
  float* py = y.data();
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < y.size(0); ++r) {  // one pass (PTB's softmax: 400 x 10000), rows over the threads
    float* row = py + r * n_;
    if (b)
      for (int64_t j = 0; j < n_; ++j) row[j] = row[j] * d[j] + b[j];
    else
      for (int64_t j = 0; j < n_; ++j) row[j] *= d[j];
  }
}

void SimhashMatrix::multiply_backward(const Tensor& x, const Tensor& dy, Tensor* dx, std::vector<Tensor>& grads) const {
  const int64_t batch = x.size(0);
  if (multiplies_through_dense(batch)) return CompressedMatrix::multiply_backward(x, dy, dx, grads);  // through Â
  // d scale_j = inv_j sum_b dy_bj u_bj with u = x R S (batch, n), before the scale.
  Tensor& gd = grad_slot(grads, 0, scale_, 1);
  std::vector<double> acc;
  const Tensor u = matmul(x, rs_);
  column_dots(dy.data(), u.data(), batch, n_, acc);
  float* pg = gd.data();
  const float* inv = inv_norm_.data();
  for (int64_t j = 0; j < n_; ++j) pg[j] += static_cast<float>(acc[static_cast<size_t>(j)]) * inv[j];
  if (dx == nullptr) return;
  Tensor du = Tensor::empty(dy.shape());  // (batch, n) = dy diag(e), in one pass
  const Tensor e = effective_scale();
  const float *d = e.data(), *pdy = dy.data();
  float* pdu = du.data();
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < batch; ++r)
    for (int64_t j = 0; j < n_; ++j) pdu[r * n_ + j] = pdy[r * n_ + j] * d[j];
  gemm(du, Trans::No, rs_, Trans::Yes, *dx);  // (batch, m) = du (R S)^T
}

std::map<std::string, NpyArray> SimhashMatrix::integer_state() const {
  NpyArray signs{"|i1", {k_, n_}, std::vector<uint8_t>(signs_.size())};
  for (size_t i = 0; i < signs_.size(); ++i) signs.bytes[i] = static_cast<uint8_t>(signs_[i]);
  return {{"signs", signs}, {"seed", pack_u64(seed_)}};
}

SimhashCompressor::SimhashCompressor(SimhashSettings settings) : s_(settings) {
  MC_CHECK(s_.bits >= 1, ValueError, "simhash: bits must be at least 1, got " << s_.bits);
}

double SimhashCompressor::ratio_for(int64_t m, int64_t n) const {
  return static_cast<double>(64 + s_.bits * n + 32 * n) / static_cast<double>(dense_bits(m, n));
}

std::unique_ptr<CompressedMatrix> SimhashCompressor::compress(const Tensor& a, Rng& rng) const {
  check_matrix(a, "simhash");
  const int64_t m = a.size(0), n = a.size(1), k = s_.bits;
  check_smaller_than_dense("simhash", 64 + k * n + 32 * n, m, n,
                           "bits must stay below (32 m n - 64 - 32 n) / n = " +
                               std::to_string((dense_bits(m, n) - 64 - 32 * n) / static_cast<double>(n)));
  const uint64_t seed = s_.fixed_seed ? s_.seed : rng.next_u64();
  const Tensor r = simhash_projection(m, k, seed);
  const Tensor proj = matmul(r, a, Trans::Yes, Trans::No);  // (k, n) = R^T A
  std::vector<int8_t> signs(static_cast<size_t>(k * n));
  for (int64_t i = 0; i < k * n; ++i) signs[static_cast<size_t>(i)] = proj.data()[i] >= 0 ? 1 : -1;  // sign(0) = +1
  // d_j = ||A_j||: with the columns of R S normalised, W's columns have A's norms.
  Tensor scale = Tensor::empty({n});
  std::vector<double> na(static_cast<size_t>(n), 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) na[static_cast<size_t>(j)] += static_cast<double>(a.data()[i * n + j]) * a.data()[i * n + j];
  for (int64_t j = 0; j < n; ++j) scale.data()[j] = static_cast<float>(std::sqrt(na[static_cast<size_t>(j)]));
  return std::make_unique<SimhashMatrix>(m, n, k, seed, std::move(signs), std::move(scale));
}

}  // namespace mc
