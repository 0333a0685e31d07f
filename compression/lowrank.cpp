#include "compression/lowrank.h"

#include <lapacke.h>

#include <algorithm>
#include <cmath>

#include "compression/util.h"
#include "core/blas.h"
#include "core/error.h"

namespace mc {

Tensor orthonormalize(const Tensor& y) {
  const int64_t m = y.size(0), l = y.size(1);
  MC_CHECK(m >= l && l > 0, ShapeError, "orthonormalize needs a tall matrix, got " << to_string(y.shape()));
  // Row-major Y (m, l) is column-major Y^T (l, m), and the QR of Y is the LQ of Y^T: Y^T = L Q^T.
  // Calling LQ column-major keeps the data where it is (row-major LAPACKE would transpose
  // twice), and Q^T (l, m) column-major is Q (m, l) row-major.
  Tensor q = y.clone();
  std::vector<float> tau(static_cast<size_t>(l));
  const auto lm = static_cast<lapack_int>(l), mm = static_cast<lapack_int>(m);
  lapack_int info = LAPACKE_sgelqf(LAPACK_COL_MAJOR, lm, mm, q.data(), lm, tau.data());
  MC_CHECK(info == 0, Error, "LAPACKE_sgelqf failed on " << to_string(y.shape()) << " (info " << info << ")");
  info = LAPACKE_sorglq(LAPACK_COL_MAJOR, lm, mm, lm, q.data(), lm, tau.data());
  MC_CHECK(info == 0, Error, "LAPACKE_sorglq failed on " << to_string(y.shape()) << " (info " << info << ")");
  return q;
}

Tensor lu_range_basis(const Tensor& y) {
  const int64_t m = y.size(0), l = y.size(1);
  MC_CHECK(m >= l && l > 0, ShapeError, "lu_range_basis needs a tall matrix, got " << to_string(y.shape()));
  // Y (m, l) = P L U with partial pivoting; P L (m, l) spans Y's columns when U is invertible.
  // Half the flops of a Householder QR with nothing to form afterwards, and |L| <= 1 keeps it
  // well enough conditioned for the next product with A.
  Tensor lu = y.clone();
  std::vector<lapack_int> pivots(static_cast<size_t>(l));
  const lapack_int info = LAPACKE_sgetrf(LAPACK_ROW_MAJOR, static_cast<lapack_int>(m), static_cast<lapack_int>(l),
                                         lu.data(), static_cast<lapack_int>(l), pivots.data());
  MC_CHECK(info >= 0, Error, "LAPACKE_sgetrf failed on " << to_string(y.shape()) << " (info " << info << ")");
  float* p = lu.data();
  for (int64_t i = 0; i < m; ++i)  // keep L: unit diagonal, zeros above it
    for (int64_t j = i; j < l; ++j) p[i * l + j] = i == j ? 1.0f : 0.0f;
  // getrf applied its row swaps in order 0..l-1 to reach L U; undo them in reverse for P L.
  for (int64_t i = l - 1; i >= 0; --i) {
    const int64_t other = pivots[static_cast<size_t>(i)] - 1;
    if (other != i) std::swap_ranges(p + i * l, p + (i + 1) * l, p + other * l);
  }
  return lu;
}

Svd randomized_svd(const Tensor& a, int64_t k, Rng& rng, int64_t oversample, int power_iters) {
  check_matrix(a, "randomized_svd");
  const int64_t m = a.size(0), n = a.size(1);
  const int64_t r = std::min(m, n);
  MC_CHECK(k >= 1 && k <= r, ValueError, "randomized_svd: rank " << k << " outside [1, " << r << "]");
  const int64_t l = std::min(r, k + std::max<int64_t>(oversample, 0));
  // l <= min(m, n), so Y (m, l) and Z (n, l) are both tall and LU or QR applies to either.
  Tensor omega = Tensor::empty({n, l});
  rng.fill_normal(omega, 0.0f, 1.0f);
  Tensor y = Tensor::empty({m, l});
  Tensor z = Tensor::empty({n, l});
  gemm(a, Trans::No, omega, Trans::No, y);            // Y (m, l) = A Omega
  // The power iterations need only a well-conditioned basis of each range, not an orthonormal
  // one: LU (as scikit-learn does); one QR at the end gives the orthonormal Q.
  for (int it = 0; it < power_iters; ++it) {
    gemm(a, Trans::Yes, lu_range_basis(y), Trans::No, z);  // Z (n, l) = A^T basis(Y)
    gemm(a, Trans::No, lu_range_basis(z), Trans::No, y);   // Y (m, l) = A basis(Z)
  }
  const Tensor q = orthonormalize(y);
  const Tensor small = matmul(q, a, Trans::Yes, Trans::No);  // (l, n) = Q^T A
  const Svd s = svd(small);                                   // Ub (l, l), S (l), Vt (l, n)
  const Tensor u_full = matmul(q, s.u);                       // (m, l)
  Svd out{Tensor::empty({m, k}), Tensor::empty({k}), Tensor::empty({k, n})};
  for (int64_t i = 0; i < m; ++i)
    std::copy(u_full.data() + i * l, u_full.data() + i * l + k, out.u.data() + i * k);
  std::copy(s.s.data(), s.s.data() + k, out.s.data());
  std::copy(s.vt.data(), s.vt.data() + k * n, out.vt.data());
  return out;
}

LowRankMatrix::LowRankMatrix(Tensor b, Tensor c) : b_(std::move(b)), c_(std::move(c)) {
  MC_CHECK(b_.dim() == 2 && c_.dim() == 2 && b_.size(1) == c_.size(0), ShapeError,
           "lowrank: B " << to_string(b_.shape()) << " and C " << to_string(c_.shape()) << " do not chain");
}

std::vector<Factor> LowRankMatrix::factors() const { return {{"B", b_, true}, {"C", c_, true}}; }

nlohmann::json LowRankMatrix::settings() const { return {{"rank", rank()}}; }

Tensor LowRankMatrix::materialize() const { return matmul(b_, c_); }

void LowRankMatrix::materialize_backward(const Tensor& d_dense, std::vector<Tensor>& grads) const {
  Tensor& gb = grad_slot(grads, 0, b_, 2);
  Tensor& gc = grad_slot(grads, 1, c_, 2);
  gemm(d_dense, Trans::No, c_, Trans::Yes, gb, 1.0f, 1.0f);  // dB (m, k) += dÂ (m, n) C^T
  gemm(b_, Trans::Yes, d_dense, Trans::No, gc, 1.0f, 1.0f);  // dC (k, n) += B^T dÂ
}

void LowRankMatrix::multiply(const Tensor& x, Tensor& y) const {
  MC_CHECK(x.dim() == 2 && x.size(1) == rows(), ShapeError,
           "lowrank multiply: input " << to_string(x.shape()) << " does not fit a " << rows() << "x" << cols() << " matrix");
  const Tensor t = matmul(x, b_);  // (batch, k)
  gemm(t, Trans::No, c_, Trans::No, y);  // y (batch, n) = t C
}

void LowRankMatrix::multiply_backward(const Tensor& x, const Tensor& dy, Tensor* dx, std::vector<Tensor>& grads) const {
  const Tensor t = matmul(x, b_);                         // (batch, k), recomputed: cheaper than storing
  const Tensor dt = matmul(dy, c_, Trans::No, Trans::Yes);  // (batch, k) = dy C^T
  Tensor& gb = grad_slot(grads, 0, b_, 2);
  Tensor& gc = grad_slot(grads, 1, c_, 2);
  gemm(t, Trans::Yes, dy, Trans::No, gc, 1.0f, 1.0f);   // dC (k, n) += t^T dy
  gemm(x, Trans::Yes, dt, Trans::No, gb, 1.0f, 1.0f);   // dB (m, k) += x^T dt
  if (dx != nullptr) gemm(dt, Trans::No, b_, Trans::Yes, *dx);  // dx (batch, m) = dt B^T
}

LowRankCompressor::LowRankCompressor(LowRankSettings settings) : s_(settings) {
  MC_CHECK(s_.rank >= 1, ValueError, "lowrank: rank must be at least 1, got " << s_.rank);
  MC_CHECK(s_.oversample >= 0 && s_.power_iters >= 0, ValueError,
           "lowrank: oversample and power_iters must be >= 0");
}

bool LowRankCompressor::uses_randomized(int64_t m, int64_t n) const {
  const int64_t r = std::min(m, n);
  switch (s_.solver) {
    case LowRankSettings::Solver::Full: return false;
    case LowRankSettings::Solver::Randomized: return true;
    case LowRankSettings::Solver::Auto: break;
  }
  return r >= 256 && (s_.rank + s_.oversample) * 4 <= r;
}

double LowRankCompressor::ratio_for(int64_t m, int64_t n) const {
  return static_cast<double>(s_.rank * (m + n)) / static_cast<double>(m * n);
}

std::unique_ptr<CompressedMatrix> LowRankCompressor::compress(const Tensor& a, Rng& rng) const {
  check_matrix(a, "lowrank");
  const int64_t m = a.size(0), n = a.size(1), k = s_.rank;
  // k (m + n) floats must stay below m n floats: k < m n / (m + n).
  MC_CHECK(k * (m + n) < m * n, ValueError,
           "lowrank: rank " << k << " stores " << k * (m + n) << " floats, not less than the " << m << "x" << n
                            << " dense matrix; the rank must be below m n / (m + n) = "
                            << static_cast<double>(m * n) / static_cast<double>(m + n));
  const Svd s = uses_randomized(m, n) ? randomized_svd(a, k, rng, s_.oversample, s_.power_iters) : svd(a);
  Tensor b = Tensor::empty({m, k}), c = Tensor::empty({k, n});
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < k; ++j) b.data()[i * k + j] = s.u.data()[i * s.u.size(1) + j] * std::sqrt(s.s.data()[j]);
  for (int64_t j = 0; j < k; ++j) {
    const float w = std::sqrt(s.s.data()[j]);
    for (int64_t i = 0; i < n; ++i) c.data()[j * n + i] = s.vt.data()[j * n + i] * w;
  }
  return std::make_unique<LowRankMatrix>(std::move(b), std::move(c));
}

}  // namespace mc
