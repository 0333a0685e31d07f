// lrn_conv2d: conv2d(lrn(x)) as one autograd op. The normalised input (the CIFAR model's norm1
// output, 4.7 MB a batch) and the gradient with respect to it are never full-size tensors:
// each chunk of images is normalised into a per-thread block right before its im2col (and
// again in backward, for dW), and the convolution's input gradient for the chunk goes straight
// through the LRN backward into dx. Exactly the composed ops' values and gradients.
#pragma once

#include "autograd/variable.h"
#include "layers/conv2d_op.h"
#include "layers/lrn.h"

namespace mc {

// x (N, C, H, W), w (kh * kw * C, cout), bias (cout) or undefined -> (N, cout, OH, OW)
Var lrn_conv2d(const Var& x, const LrnSpec& lrn, const Var& w, const Var& bias, const Conv2dSpec& conv);

}  // namespace mc
