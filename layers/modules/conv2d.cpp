#include "matcomp/layers/modules/conv2d.h"

#include "matcomp/core/error.h"
#include "matcomp/layers/kernels/conv2d_pool_op.h"

namespace mc {

Conv2d::Conv2d(Tensor weight_init, int64_t kernel_h, int64_t kernel_w, Conv2dOptions options)
    : spec_{kernel_h, kernel_w, options.stride, options.padding, options.relu}, has_bias_(options.bias) {
  MC_CHECK(kernel_h >= 1 && kernel_w >= 1, ValueError, "Conv2d kernel " << kernel_h << "x" << kernel_w);
  MC_CHECK(weight_init.dim() == 2 && weight_init.size(0) % (kernel_h * kernel_w) == 0 && weight_init.size(0) > 0,
           ShapeError,
           "Conv2d weight must be (" << kernel_h << " * " << kernel_w << " * in_channels, out_channels), got "
                                     << to_string(weight_init.shape()));
  const int64_t out = weight_init.size(1);
  register_module("weight", std::make_shared<DenseWeight>(std::move(weight_init), options.group));
  if (has_bias_) register_parameter("bias", Tensor::full({out}, options.bias_init));
}

Var Conv2d::forward(const Var& x) {
  auto w = weight();
  MC_CHECK(x.value().dim() == 4 && x.shape()[1] == in_channels(), ShapeError,
           "Conv2d expects input (N, " << in_channels() << ", H, W), got " << to_string(x.shape()));
  return conv2d(x, w->dense(), has_bias_ ? own_parameter("bias") : Var(), spec_);
}

Var Conv2d::forward_maxpool(const Var& x, const Pool2dSpec& pool) {
  MC_CHECK(x.value().dim() == 4 && x.shape()[1] == in_channels(), ShapeError,
           "Conv2d expects input (N, " << in_channels() << ", H, W), got " << to_string(x.shape()));
  return conv2d_relu_maxpool(x, weight()->dense(), has_bias_ ? own_parameter("bias") : Var(), spec_, pool);
}

}  // namespace mc
