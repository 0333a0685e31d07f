// Matrix products through OpenBLAS's cblas_sgemm (row-major). The wrappers check shapes,
// then make exactly one cblas call: no copies, no temporaries.
#pragma once

#include "matcomp/core/tensor.h"

namespace mc {

enum class Trans { No, Yes };

// C = alpha * op(A) op(B) + beta * C, all 2-D.
// op(A) is (m, k), op(B) is (k, n), C is (m, n).
void gemm(const Tensor& a, Trans trans_a, const Tensor& b, Trans trans_b, Tensor& c,
          float alpha = 1.0f, float beta = 0.0f);

// op(A) op(B) into a new (m, n) tensor.
Tensor matmul(const Tensor& a, const Tensor& b, Trans trans_a = Trans::No, Trans trans_b = Trans::No);

// Raw row-major sgemm on pointers, for kernels that work on sub-blocks (leading dims given).
void sgemm_raw(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha,
               const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
               int64_t ldc);

}  // namespace mc
