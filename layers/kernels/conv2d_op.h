// conv2d: one fused autograd op for a 2-D convolution over NCHW images, with bias and an
// optional fused ReLU, computed as im2col + one big sgemm per chunk of images.
//
//   Var y = conv2d(x /* (N, C, H, W) */, w /* (kh * kw * C, cout) */, b /* (cout) */,
//                  {.kernel_h = 5, .kernel_w = 5, .stride = 1, .padding = Padding::Same, .relu = true});
//   // y: (N, cout, OH, OW)
//
// w is a plain matrix so the Weight seam (and compression) sees the kernel as one: its rows
// are ordered (kh, kw, cin), TensorFlow's HWIO kernel reshaped (see conv_im2col.h).
#pragma once

#include <cstdint>

#include "matcomp/autograd/variable.h"
#include "matcomp/layers/kernels/conv_geometry.h"

namespace mc {

struct Conv2dSpec {
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride = 1;
  Padding padding = Padding::Same;
  bool relu = false;  // y = max(0, conv + b), fused into the output pass (saves a pass and a tensor)
};

// x (N, C, H, W), w (kernel_h * kernel_w * C, cout), bias (cout) or an undefined Var for none.
// -> (N, cout, OH, OW) with OH, OW from the spec's padding (conv_geometry.h).
Var conv2d(const Var& x, const Var& w, const Var& bias, const Conv2dSpec& spec);

}  // namespace mc
