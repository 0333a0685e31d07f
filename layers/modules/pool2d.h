// Max pooling over NCHW images with TensorFlow's SAME / VALID windows (conv_geometry.h).
// SAME pads with -inf, i.e. padded positions never win. Backward routes each output's
// gradient to the input position that won (the first maximum in row-major window order).
//
//   MaxPool2d pool({.kernel_h = 3, .kernel_w = 3, .stride = 2, .padding = Padding::Same});
//   Var y = pool.forward(x);  // (N, C, 24, 24) -> (N, C, 12, 12)
#pragma once

#include <cstdint>

#include "matcomp/autograd/variable.h"
#include "matcomp/layers/kernels/conv_geometry.h"
#include "matcomp/layers/modules/module.h"

namespace mc {

struct Pool2dSpec {
  int64_t kernel_h = 3, kernel_w = 3;
  int64_t stride = 2;
  Padding padding = Padding::Same;
};

// x (N, C, H, W) -> (N, C, OH, OW)
Var max_pool2d(const Var& x, const Pool2dSpec& spec);

// One plane, the kernel behind max_pool2d (and the fused conv2d_relu_maxpool):
// y (OH, OW) = window maxima of x (H, W); argmax (OH, OW) = winner's index h * W + w.
void max_pool_plane(const float* x, const WindowGeometry& g, float* y, int32_t* argmax);

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(Pool2dSpec spec = {}) : spec_(spec) {}
  std::string type() const override { return "MaxPool2d"; }
  Var forward(const Var& x) { return max_pool2d(x, spec_); }
  const Pool2dSpec& spec() const { return spec_; }

 private:
  Pool2dSpec spec_;
};

}  // namespace mc
