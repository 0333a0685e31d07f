// The per-image LRN kernels behind lrn() and lrn_maxpool(), shared with the fused
// lrn_conv2d (conv2d_lrn_op.h). Not a public API.
#pragma once

#include <cstdint>

#include "core/tensor.h"
#include "layers/lrn.h"

namespace mc {

// x (N, C, ...): N images of C channel planes of P pixels.
struct LrnShape {
  int64_t n, c, p;
};
LrnShape lrn_shape(const Tensor& x);

// Per-thread scratch that only grows (call inside the parallel loop that uses it).
float* lrn_scratch(int64_t floats);

// One image: yb (C, P) = lrn(xb). scratch2: 2 * C * P floats.
void lrn_forward_image(const float* xb, float* yb, const LrnShape& sh, const LrnSpec& spec, float* scratch2);

// One image: db (C, P) = gradient at xb given the output gradient gb. scratch3: 3 * C * P floats.
void lrn_backward_image(const float* xb, const float* gb, float* db, const LrnShape& sh, const LrnSpec& spec,
                        float* scratch3);

}  // namespace mc
