#include "matcomp/core/blas.h"

#include <cblas.h>

#include "matcomp/core/error.h"

namespace mc {

namespace {
CBLAS_TRANSPOSE to_cblas(Trans t) { return t == Trans::Yes ? CblasTrans : CblasNoTrans; }
}  // namespace

void sgemm_raw(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha,
               const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
               int64_t ldc) {
  if (m == 0 || n == 0) return;
  cblas_sgemm(CblasRowMajor, to_cblas(trans_a), to_cblas(trans_b), static_cast<blasint>(m),
              static_cast<blasint>(n), static_cast<blasint>(k), alpha, a, static_cast<blasint>(lda), b,
              static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

void gemm(const Tensor& a, Trans trans_a, const Tensor& b, Trans trans_b, Tensor& c, float alpha,
          float beta) {
  MC_CHECK(a.dim() == 2 && b.dim() == 2 && c.dim() == 2, ShapeError,
           "gemm needs 2-D tensors, got " << to_string(a.shape()) << ", " << to_string(b.shape())
                                          << " -> " << to_string(c.shape()));
  const int64_t m = trans_a == Trans::No ? a.size(0) : a.size(1);
  const int64_t k = trans_a == Trans::No ? a.size(1) : a.size(0);
  const int64_t kb = trans_b == Trans::No ? b.size(0) : b.size(1);
  const int64_t n = trans_b == Trans::No ? b.size(1) : b.size(0);
  MC_CHECK(k == kb && c.size(0) == m && c.size(1) == n, ShapeError,
           "gemm shapes do not fit: op(A) " << m << "x" << k << " (A " << to_string(a.shape())
                                            << (trans_a == Trans::Yes ? "^T" : "") << "), op(B) " << kb << "x" << n
                                            << " (B " << to_string(b.shape()) << (trans_b == Trans::Yes ? "^T" : "")
                                            << "), C " << to_string(c.shape()));
  sgemm_raw(trans_a, trans_b, m, n, k, alpha, a.data(), a.size(1), b.data(), b.size(1), beta, c.data(),
            c.size(1));
  c.mark_modified();
}

Tensor matmul(const Tensor& a, const Tensor& b, Trans trans_a, Trans trans_b) {
  MC_CHECK(a.dim() == 2 && b.dim() == 2, ShapeError,
           "matmul needs 2-D tensors, got " << to_string(a.shape()) << " and " << to_string(b.shape()));
  const int64_t m = trans_a == Trans::No ? a.size(0) : a.size(1);
  const int64_t n = trans_b == Trans::No ? b.size(1) : b.size(0);
  Tensor c = Tensor::empty({m, n});
  gemm(a, trans_a, b, trans_b, c);
  return c;
}

}  // namespace mc
