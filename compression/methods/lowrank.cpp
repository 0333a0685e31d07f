#include "matcomp/compression/methods/lowrank.h"

#include <cblas.h>
#include <lapacke.h>

#include <algorithm>
#include <cmath>

#include "matcomp/compression/util.h"
#include "matcomp/core/blas.h"
#include "matcomp/core/error.h"
#include "matcomp/layers/kernels/affine_op.h"

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

namespace {

std::vector<double> to_double(const Tensor& t) { return std::vector<double>(t.data(), t.data() + t.numel()); }

Tensor to_float(const std::vector<double>& v, Shape shape) {
  Tensor t = Tensor::empty(std::move(shape));
  std::copy(v.begin(), v.end(), t.data());
  return t;
}

// Y (m, l) <- Y R^-1, R upper triangular with R^T R = Y^T Y, in double. False when Y^T Y is
// not numerically positive definite.
bool cholesky_qr_pass(std::vector<double>& y, int64_t m, int64_t l) {
  const auto mi = static_cast<blasint>(m), li = static_cast<blasint>(l);
  std::vector<double> r(static_cast<size_t>(l * l), 0.0);
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, li, mi, 1.0, y.data(), li, 0.0, r.data(), li);  // R (l, l) = Y^T Y
  if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'U', static_cast<lapack_int>(l), r.data(), static_cast<lapack_int>(l)) != 0)
    return false;
  // A pivot tiny against the largest means Y has (nearly) dependent columns: R^-1 would blow up.
  double largest = 0, smallest = INFINITY;
  for (int64_t i = 0; i < l; ++i) largest = std::max(largest, r[i * l + i]), smallest = std::min(smallest, r[i * l + i]);
  if (!(smallest > 1e-6 * largest)) return false;
  cblas_dtrsm(CblasRowMajor, CblasRight, CblasUpper, CblasNoTrans, CblasNonUnit, mi, li, 1.0, r.data(), li, y.data(), li);
  return true;
}

}  // namespace

Tensor cholesky_qr2(const Tensor& y) {
  const int64_t m = y.size(0), l = y.size(1);
  MC_CHECK(y.dim() == 2 && m >= l && l > 0, ShapeError, "cholesky_qr2 needs a tall matrix, got " << to_string(y.shape()));
  // The first pass leaves Q with orthogonality error ~ eps cond(Y)^2; the second, on a Q
  // that is already nearly orthonormal, brings it to ~eps (Fukaya et al., CholeskyQR2).
  std::vector<double> q = to_double(y);
  if (!cholesky_qr_pass(q, m, l) || !cholesky_qr_pass(q, m, l)) return Tensor();
  return to_float(q, {m, l});
}

Svd wide_svd(const Tensor& b) {
  const int64_t l = b.size(0), n = b.size(1);
  MC_CHECK(b.dim() == 2 && l <= n && l > 0, ShapeError, "wide_svd needs a wide matrix, got " << to_string(b.shape()));
  const auto li = static_cast<blasint>(l), ni = static_cast<blasint>(n);
  const std::vector<double> bd = to_double(b);
  std::vector<double> gram(static_cast<size_t>(l * l), 0.0), eigenvalues(static_cast<size_t>(l));
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, li, ni, 1.0, bd.data(), ni, 0.0, gram.data(), li);  // B B^T (l, l)
  const lapack_int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', static_cast<lapack_int>(l), gram.data(),
                                         static_cast<lapack_int>(l), eigenvalues.data());
  MC_CHECK(info == 0, Error, "LAPACKE_dsyevd failed on the Gram matrix of " << to_string(b.shape()) << " (info " << info << ")");
  // Eigenvalues ascending -> singular values descending; U's column i is eigenvector l-1-i.
  std::vector<double> u(static_cast<size_t>(l * l));
  Svd out{Tensor::empty({l, l}), Tensor::empty({l}), Tensor::empty({l, n})};
  for (int64_t i = 0; i < l; ++i) {
    const int64_t from = l - 1 - i;
    for (int64_t r = 0; r < l; ++r) u[r * l + i] = gram[r * l + from];
    out.s.data()[i] = static_cast<float>(std::sqrt(std::max(eigenvalues[from], 0.0)));
  }
  std::vector<double> vt(static_cast<size_t>(l * n));
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, li, ni, li, 1.0, u.data(), li, bd.data(), ni, 0.0, vt.data(), ni);  // U^T B
  // V^T = S^-1 U^T B. Below ~1e-7 of the largest the singular value is float noise; its right
  // vector is left at zero rather than amplified noise.
  const double floor = 1e-7 * std::max<double>(out.s.data()[0], 1e-30);
  for (int64_t i = 0; i < l; ++i) {
    const double s = out.s.data()[i];
    for (int64_t j = 0; j < n; ++j) vt[i * n + j] = s > floor ? vt[i * n + j] / s : 0.0;
  }
  std::copy(u.begin(), u.end(), out.u.data());
  std::copy(vt.begin(), vt.end(), out.vt.data());
  return out;
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
  // Y is tall and thin: CholeskyQR2 (BLAS-3, double) is several times faster than Householder;
  // Householder when Y is too close to rank deficient for it (e.g. rank(A) < l).
  Tensor q = cholesky_qr2(y);
  if (!q.defined()) q = orthonormalize(y);
  const Tensor small = matmul(q, a, Trans::Yes, Trans::No);  // (l, n) = Q^T A
  const Svd s = l <= n ? wide_svd(small) : svd(small);        // Ub (l, l), S (l), Vt (l, n)
  const Tensor u_full = matmul(q, s.u);                       // (m, l)
  Svd out{Tensor::empty({m, k}), Tensor::empty({k}), Tensor::empty({k, n})};
  for (int64_t i = 0; i < m; ++i)
    std::copy(u_full.data() + i * l, u_full.data() + i * l + k, out.u.data() + i * k);
  std::copy(s.s.data(), s.s.data() + k, out.s.data());
  std::copy(s.vt.data(), s.vt.data() + k * n, out.vt.data());
  return out;
}

Svd randomized_svd_converged(const Tensor& a, int64_t k, Rng& rng, int64_t oversample, double tol, int max_iters) {
  check_matrix(a, "randomized_svd_converged");
  const int64_t m = a.size(0), n = a.size(1);
  const int64_t r = std::min(m, n);
  MC_CHECK(k >= 1 && k <= r, ValueError, "randomized_svd_converged: rank " << k << " outside [1, " << r << "]");
  const int64_t l = std::min(r, k + std::max<int64_t>(oversample, 0));
  double total = 0;  // ||A||_F^2
  for (int64_t i = 0; i < a.numel(); ++i) total += static_cast<double>(a.data()[i]) * a.data()[i];
  Tensor omega = Tensor::empty({n, l});
  rng.fill_normal(omega, 0.0f, 1.0f);
  Tensor y = matmul(a, omega);  // (m, l)
  Tensor z = Tensor::empty({n, l});
  const auto basis = [](const Tensor& t) {
    Tensor q = cholesky_qr2(t);
    return q.defined() ? q : orthonormalize(t);
  };
  Tensor q_best;
  Svd small_best;
  double previous = -1, gain_before = -1;
  for (int it = 0; it <= max_iters; ++it) {
    const Tensor q = basis(y);                                  // (m, l)
    const Tensor small = matmul(q, a, Trans::Yes, Trans::No);   // (l, n) = Q^T A
    Svd sv = l <= n ? wide_svd(small) : svd(small);
    // The best rank-k approximation inside span(Q) leaves ||A||^2 - sum_{i<k} s_i^2: the
    // error of this round, known without forming it.
    double captured = 0;
    for (int64_t i = 0; i < k; ++i) captured += static_cast<double>(sv.s.data()[i]) * sv.s.data()[i];
    const double err2 = std::max(total - captured, 0.0);
    if (previous >= 0 && !(err2 < previous)) break;  // no progress left above float noise: keep the last
    q_best = q;
    small_best = std::move(sv);
    if (previous >= 0) {
      const double gain = previous - err2;
      // The error falls geometrically (by (s_{l+1} / s_k)^2 per round); with ratio rho the
      // rounds still to come can gain gain rho / (1 - rho) in all (Aitken). Stop when that
      // is below tol of the error.
      if (gain_before > 0) {
        const double rho = gain / gain_before;
        if (rho < 1 && gain * rho / (1 - rho) <= tol * err2) break;
      }
      if (gain <= tol * 1e-3 * err2) break;
      gain_before = gain;
    }
    previous = err2;
    if (it == max_iters) break;
    gemm(a, Trans::Yes, q, Trans::No, z);         // Z (n, l) = A^T Q
    gemm(a, Trans::No, basis(z), Trans::No, y);   // Y (m, l) = A basis(Z)
  }
  const Tensor u_full = matmul(q_best, small_best.u);  // (m, l)
  Svd out{Tensor::empty({m, k}), Tensor::empty({k}), Tensor::empty({k, n})};
  for (int64_t i = 0; i < m; ++i)
    std::copy(u_full.data() + i * l, u_full.data() + i * l + k, out.u.data() + i * k);
  std::copy(small_best.s.data(), small_best.s.data() + k, out.s.data());
  std::copy(small_best.vt.data(), small_best.vt.data() + k * n, out.vt.data());
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

void LowRankMatrix::product(const Tensor& x, Tensor& y, float beta) const {
  MC_CHECK(x.dim() == 2 && x.size(1) == rows(), ShapeError,
           "lowrank multiply: input " << to_string(x.shape()) << " does not fit a " << rows() << "x" << cols() << " matrix");
  const Tensor t = matmul(x, b_);                     // (batch, k)
  gemm(t, Trans::No, c_, Trans::No, y, 1.0f, beta);  // y (batch, n) = t C + beta y
}

void LowRankMatrix::multiply(const Tensor& x, Tensor& y) const { product(x, y, 0.0f); }

void LowRankMatrix::multiply_add_bias(const Tensor& x, const Tensor& bias, Tensor& y) const {
  fill_rows(bias, y);
  product(x, y, 1.0f);
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
  // Exact (sgesdd) wherever it is affordable once per compression event: the randomized
  // solver with the old fixed settings (oversample 10, 4 power iterations) was 0.4-1 % above
  // the optimum's error on 2304x384 at ranks 32-82 (slowly decaying spectra), and reaching
  // 1e-4 of the optimum there takes ~16 rounds with oversample k, no faster than the exact
  // SVD. Above the budget (PTB large, say) the randomized solver runs to convergence.
  return static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(r) > kExactSvdBudget;
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
  Svd s;
  if (!uses_randomized(m, n)) s = svd(a);
  else if (s_.solver == LowRankSettings::Solver::Randomized) s = randomized_svd(a, k, rng, s_.oversample, s_.power_iters);
  else s = randomized_svd_converged(a, k, rng, std::max(s_.oversample, k));
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
