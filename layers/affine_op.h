// Fused affine op y = x W + b for dense layers: the bias is written into y first and the
// product added by the same sgemm (beta = 1), so no separate broadcast pass or temporary.
#pragma once

#include "autograd/variable.h"

namespace mc {

// x (n, in), w (in, out), b (out) -> (n, out)
Var affine(const Var& x, const Var& w, const Var& b);

}  // namespace mc
