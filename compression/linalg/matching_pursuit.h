// Batch-OMP (Rubinstein, Zibulevsky, Elad 2008): orthogonal matching pursuit for many signals
// against one dictionary. The products that touch every atom are done once for all signals
// with sgemm (Gram G = D D^T and correlations alpha0 = X D^T); each signal then needs only
// small work: pick the atom of largest |alpha|, grow the Cholesky factor of G restricted to the
// chosen atoms by one row, solve for the coefficients, update alpha = alpha0 - G_I gamma.
#pragma once

#include <cstdint>
#include <vector>

#include "matcomp/core/tensor.h"

namespace mc {

// Row-compressed sparse matrix (CSR): row i holds entries [row_ptr[i], row_ptr[i + 1]).
struct SparseRows {
  int64_t rows = 0, cols = 0;
  std::vector<int64_t> row_ptr;  // rows + 1
  std::vector<int32_t> col;      // nnz, column (atom) indices
  std::vector<float> val;        // nnz
  int64_t nnz() const { return static_cast<int64_t>(col.size()); }
  Tensor to_dense() const;  // (rows, cols)
};

// Codes the rows of `signals` (s, n) against the rows of `dictionary` (K, n) (atoms, expected
// unit norm) with at most `nnz` atoms each; a signal stops early once it is represented exactly
// (largest remaining correlation below 1e-7 of its norm) or the chosen atoms become dependent.
// Atoms of each row are listed in the order OMP chose them.
SparseRows batch_omp(const Tensor& signals, const Tensor& dictionary, int64_t nnz);

// Same, with G = D D^T (K, K) and alpha0 = signals D^T (s, K) already computed.
SparseRows batch_omp_precomputed(const Tensor& gram, const Tensor& alpha0, const std::vector<double>& signal_norms2, int64_t nnz);

}  // namespace mc
