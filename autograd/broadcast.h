// Broadcasting (NumPy rules: align shapes on the right; an extent of 1 stretches). Every
// binary op broadcasts its forward through broadcast_binary() and reduces its gradients
// through sum_to_shape(): the only two places that know about broadcasting.
#pragma once

#include <functional>

#include "matcomp/core/tensor.h"

namespace mc {

Shape broadcast_shape(const Shape& a, const Shape& b);  // throws ShapeError naming both

// out[i] = f(a[ia], b[ib]) over the broadcast shape.
Tensor broadcast_binary(const Tensor& a, const Tensor& b, float (*f)(float, float));

// Sums g (a broadcast result) down to `shape` (the input's shape it was broadcast from).
Tensor sum_to_shape(const Tensor& g, const Shape& shape);

// Expands t to `shape` (the inverse direction of sum_to_shape).
Tensor expand_to(const Tensor& t, const Shape& shape);

}  // namespace mc
