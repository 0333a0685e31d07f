// The matrices the BM_Factor suite (bench_factorizers.cpp) factors.
//
// Synthetic: A = U diag(s) V^T with s_k = k^-alpha (k = 1 .. min(m, n)), U and V random with
// orthonormal columns (seeded from the shape), scaled to unit RMS entry: the spectrum falls
// like a trained layer's, unlike a Gaussian matrix's flat one. anchors/matrices.py's
// "decay" kind has the same definition (alpha 1), drawn by numpy instead.
//
// Trained: when MATCOMP_BENCH_WEIGHTS names a matcomp checkpoint (.safetensors) or a folder of
// .npy files, every 2-D float32 weight in it ("model.<layer>.weight.A" of a checkpoint: the
// dense layers' matrices and the conv kernels, stored as (k k c_in, c_out); every 2-D .npy of
// a folder) is a matrix too (docs/notes/performance-history.md, "Factorizers", says how to make one).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "matcomp/core/tensor.h"

namespace mc::bench {

struct FactorMatrix {
  std::string kind;  // "decay1" or "trained:<tensor name>"
  int64_t m = 0, n = 0;
  // Builds (or converts) the matrix; called once per process, the result is cached.
  std::function<Tensor()> make;
  // A file-name-safe name unique to this matrix: "<kind>_<m>x<n>" with unsafe characters as '_'.
  std::string file_stem() const;
};

// U diag(k^-alpha) V^T, unit RMS, float32, from seeded Gaussians orthonormalized by QR.
Tensor decaying_spectrum(int64_t m, int64_t n, double alpha, uint64_t seed);

// The decay1 matrices of the given shapes.
std::vector<FactorMatrix> synthetic_matrices(const std::vector<std::pair<int64_t, int64_t>>& shapes);

// The 2-D float32 weights of a checkpoint file or a folder of .npy files, sorted by name.
// IoError naming the path when it is neither, holds no such weight, or cannot be read.
std::vector<FactorMatrix> trained_matrices(const std::string& path);

// The matrix, built once per process (by kind and shape) and kept.
const Tensor& cached_matrix(const FactorMatrix& matrix);

}  // namespace mc::bench
