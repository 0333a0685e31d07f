// Low rank: A (m, n) ~ B (m, k) C (k, n), with B = U_k sqrt(S_k) and C = sqrt(S_k) V_k^T from a
// truncated SVD. Both factors train. The product is two sgemms, (x B) C, never B C itself.
#pragma once

#include <memory>

#include "matcomp/compression/matrix_compressor.h"
#include "matcomp/core/lapack.h"

namespace mc {

// Truncated SVD of A (m, n) by Halko, Martinsson and Tropp's randomized range finder: a
// Gaussian sketch of k + oversample columns, `power_iters` rounds of (A A^T) with an LU
// basis after every product, one QR, then an exact SVD of the small projection.
// Returns U (m, k), S (k), Vt (k, n).
Svd randomized_svd(const Tensor& a, int64_t k, Rng& rng, int64_t oversample = 10, int power_iters = 4);

// The same range finder run to convergence: subspace iterations (orthonormal bases) until the
// error still to gain, extrapolated from the last two rounds' gains, is below `tol` of the
// squared error (or `max_iters` rounds). Each round's error is known exactly from the small
// SVD (||A||^2 - the captured energy), so no round is judged by a guess. The solver of
// "auto" above the exact-SVD budget; reaches the optimum's error to ~1e-5 relative.
Svd randomized_svd_converged(const Tensor& a, int64_t k, Rng& rng, int64_t oversample, double tol = 1e-5,
                             int max_iters = 40);

// m n min(m, n) above which "auto" leaves the exact SVD for randomized_svd_converged: sgesdd on
// 2304x384 (3.4e8) takes ~0.1 s, so this budget is a few seconds once per compression event.
inline constexpr double kExactSvdBudget = 8e9;

// Q (m, l) with orthonormal columns spanning the columns of Y (m, l), m >= l (Householder).
Tensor orthonormalize(const Tensor& y);

// Q (m, l) with orthonormal columns spanning Y (m, l), m >= l, by Cholesky QR twice in double
// (CholeskyQR2): BLAS-3 only. An undefined Tensor when Y's columns are too close to dependent
// for it (then use orthonormalize).
Tensor cholesky_qr2(const Tensor& y);

// SVD of a wide B (l, n), l <= n, from the eigendecomposition of B B^T in double: U (l, l),
// S (l) descending, Vt (l, n). Accurate for singular values above ~1e-7 of the largest; rows of
// Vt for smaller ones are zero.
Svd wide_svd(const Tensor& b);

// P L (m, l) from the pivoted LU factorization Y = P L U, m >= l: a basis of Y's columns
// (when Y has full column rank) with entries of magnitude <= 1, not orthonormal.
Tensor lu_range_basis(const Tensor& y);

class LowRankMatrix final : public CompressedMatrix {
 public:
  LowRankMatrix(Tensor b, Tensor c);  // B (m, k), C (k, n)

  std::string method() const override { return "lowrank"; }
  int64_t rows() const override { return b_.size(0); }
  int64_t cols() const override { return c_.size(1); }
  int64_t rank() const { return b_.size(1); }
  std::vector<Factor> factors() const override;
  nlohmann::json settings() const override;
  Tensor materialize() const override;
  void materialize_backward(const Tensor& d_dense, std::vector<Tensor>& factor_grads) const override;
  void multiply(const Tensor& x, Tensor& y) const override;
  void multiply_add_bias(const Tensor& x, const Tensor& bias, Tensor& y) const override;
  void multiply_backward(const Tensor& x, const Tensor& dy, Tensor* dx, std::vector<Tensor>& factor_grads) const override;
  // x B C costs rank (m + n) per row against m n for x Â: fewer flops whenever it compresses
  // (measured: BM_Infer_Local3, 3x faster than dense at ratio 0.25).
  bool product_beats_dense() const override { return rank() * (rows() + cols()) < rows() * cols(); }
  int64_t stored_bits() const override { return 32 * (rows() + cols()) * rank(); }

 private:
  void product(const Tensor& x, Tensor& y, float beta) const;  // y (batch, n) = x B C + beta y

  Tensor b_, c_;
};

struct LowRankSettings {
  int64_t rank = 0;
  // "auto": the exact SVD when m n min(m, n) <= kExactSvdBudget, else randomized_svd_converged
  // (oversample max(oversample, rank)); "randomized": randomized_svd with the fixed
  // oversample and power_iters below.
  enum class Solver { Auto, Full, Randomized } solver = Solver::Auto;
  int64_t oversample = 10;
  int power_iters = 4;
};

class LowRankCompressor final : public MatrixCompressor {
 public:
  explicit LowRankCompressor(LowRankSettings settings);
  std::string method() const override { return "lowrank"; }
  std::unique_ptr<CompressedMatrix> compress(const Tensor& a, Rng& rng) const override;
  double ratio_for(int64_t m, int64_t n) const override;
  const LowRankSettings& settings() const { return s_; }
  // Whether compress() would take the randomized path for an m x n matrix.
  bool uses_randomized(int64_t m, int64_t n) const;

 private:
  LowRankSettings s_;
};

}  // namespace mc
