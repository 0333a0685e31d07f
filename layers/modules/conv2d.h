// Conv2d: a 2-D convolution layer over NCHW images, y = f(conv(x, W) + b), f = ReLU when
// fused. The kernel is reached through the "weight" seam as a (kh * kw * cin, cout) matrix
// (rows in (kh, kw, cin) order, TensorFlow's HWIO kernel reshaped), so compression can
// replace it like any dense weight; the bias is the parameter "bias" (cout).
#pragma once

#include <cstdint>

#include "matcomp/layers/kernels/conv2d_op.h"
#include "matcomp/layers/modules/module.h"
#include "matcomp/layers/modules/pool2d.h"
#include "matcomp/layers/modules/weight.h"

namespace mc {

struct Conv2dOptions {
  int64_t stride = 1;
  Padding padding = Padding::Same;
  bool relu = false;       // fuse max(0, .) into the convolution's output pass
  bool bias = true;
  float bias_init = 0.0f;
  ParamGroup group = {};   // applies to the kernel only
};

class Conv2d : public Module {
 public:
  // weight_init: (kernel_h * kernel_w * in_channels, out_channels).
  Conv2d(Tensor weight_init, int64_t kernel_h, int64_t kernel_w, Conv2dOptions options = {});
  std::string type() const override { return "Conv2d"; }
  Var forward(const Var& x);  // (N, in_channels, H, W) -> (N, out_channels, OH, OW)
  // max_pool2d(forward(x), pool) as one fused op (conv2d_pool_op.h); needs the fused ReLU.
  Var forward_maxpool(const Var& x, const Pool2dSpec& pool);
  std::shared_ptr<Weight> weight() const { return child<Weight>("weight"); }
  int64_t in_channels() const { return weight()->rows() / (spec_.kernel_h * spec_.kernel_w); }
  int64_t out_channels() const { return weight()->cols(); }
  const Conv2dSpec& spec() const { return spec_; }

 private:
  Conv2dSpec spec_;
  bool has_bias_;
};

}  // namespace mc
