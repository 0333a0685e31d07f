// softmax_cross_entropy for wide outputs (a language model's 10000-way softmax): the same
// result as autograd's mc::softmax_cross_entropy (mean over rows of -log softmax[label]),
// with a vectorised exp (fast_math.h) and one fused pass per row. libm's expf is not
// vectorised without -ffast-math, and at 4 M logits per step it was the model's largest
// non-GEMM cost.
#pragma once

#include <cstdint>
#include <vector>

#include "matcomp/autograd/variable.h"

namespace mc {

// logits (n, classes), labels n entries in [0, classes) -> scalar
Var fast_softmax_cross_entropy(const Var& logits, const std::vector<int32_t>& labels);

}  // namespace mc
