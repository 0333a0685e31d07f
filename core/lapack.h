// LAPACKE wrappers: thin SVD and least squares, float32, row-major.
#pragma once

#include "matcomp/core/tensor.h"

namespace mc {

// A (m, n) = U (m, r) diag(S) (r) Vt (r, n), r = min(m, n), singular values descending.
struct Svd {
  Tensor u;
  Tensor s;
  Tensor vt;
};
Svd svd(const Tensor& a);  // LAPACKE_sgesdd (divide and conquer)

// X (n, p) minimising ||A X - B||_F for A (m, n) of full rank, B (m, p); LAPACKE_sgelsd, which
// also copes with rank deficiency (singular values below rcond * max are treated as zero).
Tensor lstsq(const Tensor& a, const Tensor& b, float rcond = -1.0f);

}  // namespace mc
