#include "matcomp/layers/modules/dense.h"

#include "matcomp/autograd/ops.h"
#include "matcomp/core/error.h"

namespace mc {

Dense::Dense(Tensor weight_init, float bias_init, ParamGroup group) {
  MC_CHECK(weight_init.dim() == 2, ShapeError, "Dense weight must be (in, out), got " << to_string(weight_init.shape()));
  const int64_t out = weight_init.size(1);
  register_module("weight", std::make_shared<DenseWeight>(std::move(weight_init), group));
  register_parameter("bias", Tensor::full({out}, bias_init));
}

Var Dense::forward(const Var& x) {
  auto w = weight();
  MC_CHECK(x.value().dim() == 2 && x.shape()[1] == w->rows(), ShapeError,
           "Dense expects input (batch, " << w->rows() << "), got " << to_string(x.shape()));
  return w->affine(x, own_parameter("bias"));  // the seam folds the bias in where it can
}

}  // namespace mc
