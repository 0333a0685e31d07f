// Links against matcomp from a parent project: a matrix product and a truncated SVD, through
// matcomp::core (OpenBLAS, LAPACKE, OpenMP come with it).
#include <cmath>
#include <cstdio>

#include "matcomp/core/lapack.h"
#include "matcomp/core/rng.h"
#include "matcomp/core/blas.h"
#include "matcomp/core/tensor.h"

int main() {
  mc::Rng rng(1);
  mc::Tensor a = mc::Tensor::empty({4, 3});
  for (int64_t i = 0; i < a.numel(); ++i) a.data()[i] = rng.normal(0.0f, 1.0f);
  const mc::Tensor gram = mc::matmul(a, a, mc::Trans::Yes, mc::Trans::No);  // A^T A (3, 3), OpenBLAS
  const mc::Svd factors = mc::svd(a);                                         // LAPACKE
  const float trace = gram.data()[0] + gram.data()[4] + gram.data()[8];
  float squares = 0;  // the trace of A^T A is the sum of the squared singular values
  for (int64_t i = 0; i < factors.s.numel(); ++i) squares += factors.s.data()[i] * factors.s.data()[i];
  std::printf("uses_matcomp: trace %.4f, sum of squared singular values %.4f\n", trace, squares);
  if (std::fabs(trace - squares) > 1e-3f * trace) return 1;
  return 0;
}
