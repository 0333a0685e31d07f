// Dictionary learning: A (m, n) ~ X D, with D (atoms, n) a dictionary of unit-norm rows and
// X (m, atoms) sparse, `nnz` nonzeros per row, found by Batch-OMP. The product is
// (x X) D: a dense-times-sparse kernel then one sgemm. D and the nonzero values of X train;
// the support of X is fixed.
#pragma once

#include <memory>

#include "matcomp/compression/matrix_compressor.h"
#include "matcomp/compression/linalg/matching_pursuit.h"

namespace mc {

class DictionaryMatrix final : public CompressedMatrix {
 public:
  // codes: structure (row_ptr, col) of X (m, atoms); values: X's nonzeros (nnz); D (atoms, n).
  DictionaryMatrix(std::vector<int64_t> row_ptr, std::vector<int32_t> col, Tensor values, Tensor dictionary);
  DictionaryMatrix(const SparseRows& codes, Tensor dictionary);

  std::string method() const override { return "dictionary"; }
  int64_t rows() const override { return static_cast<int64_t>(row_ptr_.size()) - 1; }
  int64_t cols() const override { return d_.size(1); }
  int64_t atoms() const { return d_.size(0); }
  int64_t nnz() const { return values_.numel(); }
  // D's learning rate is scaled by 1 / (rows per atom), see Factor::lr_scale.
  std::vector<Factor> factors() const override;
  nlohmann::json settings() const override;
  Tensor materialize() const override;
  void materialize_backward(const Tensor& d_dense, std::vector<Tensor>& factor_grads) const override;
  void multiply(const Tensor& x, Tensor& y) const override;
  void multiply_add_bias(const Tensor& x, const Tensor& bias, Tensor& y) const override;
  void multiply_backward(const Tensor& x, const Tensor& dy, Tensor* dx, std::vector<Tensor>& factor_grads) const override;
  // nnz * (32 + ceil(log2 atoms)) + atoms * n * 32, plus m * ceil(log2(max_row + 1)) for the
  // per-row counts when the rows do not all hold the same number of nonzeros.
  int64_t stored_bits() const override;
  std::map<std::string, NpyArray> integer_state() const override;
  Tensor codes_dense() const;  // X (m, atoms)

 private:
  Tensor sparse_left(const Tensor& x) const;  // (batch, atoms) = x (batch, m) X
  void product(const Tensor& x, Tensor& y, float beta) const;  // y (batch, n) = x X D + beta y

  std::vector<int64_t> row_ptr_;
  std::vector<int32_t> col_;
  Tensor values_;  // (nnz)
  Tensor d_;       // (atoms, n)
};

struct DictionarySettings {
  int64_t atoms = 0;  // m_D, at most m (the initial atoms are rows of A)
  int64_t nnz = 0;    // t nonzeros per row of X, at most atoms
  int iters = 10;     // OMP + dictionary-update rounds; a final OMP coding follows
};

struct DictionaryResult {
  std::unique_ptr<DictionaryMatrix> matrix;
  std::vector<double> rel_errors;  // after each OMP coding (iters + 1 entries)
};

class DictionaryCompressor final : public MatrixCompressor {
 public:
  explicit DictionaryCompressor(DictionarySettings settings);
  std::string method() const override { return "dictionary"; }
  std::unique_ptr<CompressedMatrix> compress(const Tensor& a, Rng& rng) const override;
  double ratio_for(int64_t m, int64_t n) const override;
  const DictionarySettings& settings() const { return s_; }
  // compress() with the error after each coding step; the best round is returned.
  DictionaryResult learn(const Tensor& a, Rng& rng) const;

 private:
  DictionarySettings s_;
};

int64_t dictionary_stored_bits(int64_t m, int64_t n, int64_t atoms, int64_t nnz_per_row);

}  // namespace mc
