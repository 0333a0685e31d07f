// conv2d_relu_maxpool: maxpool(relu(conv2d(x, w, b))) as one autograd op. The full-size
// activation between the convolution and the pool (conv1 of the CIFAR model: 128 x 64 x 24 x 24,
// 19 MB, plus as much again for its gradient) is never stored: each chunk's convolution output
// is biased, rectified and pooled while it is still in cache, and only the pooled output and
// the pool's winners are kept for backward. Results and gradients are exactly those of the
// composed ops (same window order, same first-maximum rule, ReLU mask y > 0).
#pragma once

#include "matcomp/autograd/variable.h"
#include "matcomp/layers/kernels/conv2d_op.h"
#include "matcomp/layers/modules/pool2d.h"

namespace mc {

// x (N, C, H, W), w (kh * kw * C, cout), bias (cout) or undefined -> (N, cout, PH, PW), where
// PH, PW are the pool's output over the convolution's (OH, OW). conv.relu must be true.
Var conv2d_relu_maxpool(const Var& x, const Var& w, const Var& bias, const Conv2dSpec& conv, const Pool2dSpec& pool);

}  // namespace mc
