// SimHash: A (m, n) ~ R S diag(1 / ||(R S)_j||) diag(d). R (m, k) ~ N(0, 1) is regenerated from
// a 64-bit seed (never stored), S = sign(R^T A) (k, n) holds one bit per entry, d (n) holds the
// norm of each of A's columns. R and S are frozen; d trains (the reference froze everything).
// The column norms of R S are recomputed from R and S, never stored; folding them out of d
// keeps d's gradient on the scale of an ordinary weight's, so the learning rate that trained
// A also trains d (with d absorbing them, SGD at lr 0.1 diverged on a 48x48 layer).
#pragma once

#include <memory>

#include "matcomp/compression/matrix_compressor.h"

namespace mc {

class SimhashMatrix final : public CompressedMatrix {
 public:
  // signs: k*n entries of +1/-1, row-major (k, n).
  SimhashMatrix(int64_t m, int64_t n, int64_t k, uint64_t seed, std::vector<int8_t> signs, Tensor scale);

  std::string method() const override { return "simhash"; }
  int64_t rows() const override { return m_; }
  int64_t cols() const override { return n_; }
  std::vector<Factor> factors() const override { return {{"scale", scale_, true}}; }
  nlohmann::json settings() const override;
  Tensor materialize() const override;
  void materialize_backward(const Tensor& d_dense, std::vector<Tensor>& factor_grads) const override;
  void multiply(const Tensor& x, Tensor& y) const override;
  void multiply_add_bias(const Tensor& x, const Tensor& bias, Tensor& y) const override;
  void multiply_backward(const Tensor& x, const Tensor& dy, Tensor* dx, std::vector<Tensor>& factor_grads) const override;
  // A product with more rows than A (batch > m; PTB's softmax: 400 rows against m = 200) goes
  // through Â (m, n), formed per call, rather than through R S and a pass scaling the
  // (batch, n) result: forming Â moves less memory, and its backward sums d scale over Â's
  // m rows (x^T dy against R S) instead of the batch's (dy against x R S, recomputed).
  bool multiplies_through_dense(int64_t batch) const override { return batch > m_; }
  // 64-bit seed + k n sign bits + n float32 scales.
  int64_t stored_bits() const override { return 64 + k_ * n_ + 32 * n_; }
  std::map<std::string, NpyArray> integer_state() const override;
  // The signs, R S (m, n) floats formed once, the scales and the inverse norms.
  int64_t resident_bytes() const override { return k_ * n_ + 4 * (m_ * n_ + 2 * n_) + 8; }
  // The product is already one sgemm with R S (formed once) and a pass scaling the columns, or,
  // for a batch of more rows than A, one sgemm with Â formed in one pass over R S: a second
  // dense matrix would double the memory to save that pass.
  bool product_beats_dense() const override { return true; }

  uint64_t seed() const { return seed_; }
  Tensor projection() const;  // R (m, k), regenerated from the seed

 private:
  // y (rows, n) <- y diag(effective scale), plus bias (n) on every row when given: one pass.
  void scale_columns(Tensor& y, const Tensor* bias) const;

  int64_t m_, n_, k_;
  uint64_t seed_;
  std::vector<int8_t> signs_;
  // R S (m, n), formed once: R and S are frozen, and k is often larger than m (at ratio 0.25
  // of a 2304x384 matrix k is ~18400), so x (R S) is far cheaper than (x R) S. In memory it
  // costs what the dense A did; on disk only the seed and the sign bits are stored.
  Tensor rs_;
  Tensor scale_;    // d (n)
  Tensor inv_norm_;  // 1 / ||(R S)_j|| (n), from R and S
  Tensor effective_scale() const;  // d_j / ||(R S)_j|| (n)
};

// 1 / ||(R S)_j|| per column j of R S (m, n) (0 for a zero column).
Tensor simhash_inverse_column_norms(const Tensor& rs);

// R (m, k) from a seed: the same numbers on every machine (our own Rng).
Tensor simhash_projection(int64_t m, int64_t k, uint64_t seed);

struct SimhashSettings {
  int64_t bits = 0;          // k
  bool fixed_seed = false;   // use `seed` instead of drawing one from the caller's Rng
  uint64_t seed = 0;
};

class SimhashCompressor final : public MatrixCompressor {
 public:
  explicit SimhashCompressor(SimhashSettings settings);
  std::string method() const override { return "simhash"; }
  std::unique_ptr<CompressedMatrix> compress(const Tensor& a, Rng& rng) const override;
  double ratio_for(int64_t m, int64_t n) const override;
  const SimhashSettings& settings() const { return s_; }

 private:
  SimhashSettings s_;
};

}  // namespace mc
