// matmul: C = op(A) op(B) through one sgemm; the backward is two more sgemms with the
// transpose flags chosen so nothing is ever copied or transposed explicitly.
#include "matcomp/autograd/node.h"
#include "matcomp/autograd/ops.h"
#include "matcomp/core/blas.h"
#include "matcomp/core/error.h"

namespace mc {

Var matmul(const Var& a, const Var& b, bool transpose_a, bool transpose_b) {
  const Trans ta = transpose_a ? Trans::Yes : Trans::No;
  const Trans tb = transpose_b ? Trans::Yes : Trans::No;
  Tensor out = mc::matmul(a.value(), b.value(), ta, tb);
  return record("matmul", std::move(out), {a, b},
                [sa = SavedTensor(a.value(), "matmul"), sb = SavedTensor(b.value(), "matmul"), transpose_a,
                 transpose_b](const Grads& g, const Needs& need) {
                  const Tensor& av = sa.get();
                  const Tensor& bv = sb.get();
                  const Tensor& gc = g[0];  // (m, n)
                  Tensor ga, gb;
                  if (need[0]) {
                    // C = A B:   dA = dC B^T ;  C = A^T B: dA = B dC^T
                    ga = transpose_a ? mc::matmul(bv, gc, transpose_b ? Trans::Yes : Trans::No, Trans::Yes)
                                     : mc::matmul(gc, bv, Trans::No, transpose_b ? Trans::No : Trans::Yes);
                  }
                  if (need[1]) {
                    // C = A B:   dB = A^T dC ;  C = A B^T: dB = dC^T A
                    gb = transpose_b ? mc::matmul(gc, av, Trans::Yes, transpose_a ? Trans::Yes : Trans::No)
                                     : mc::matmul(av, gc, transpose_a ? Trans::No : Trans::Yes, Trans::No);
                  }
                  return Grads{ga, gb};
                });
}

}  // namespace mc
