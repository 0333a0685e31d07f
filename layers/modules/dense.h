// Dense: y (batch, out) = x (batch, in) W + b, W (in, out) reached through the "weight" seam.
#pragma once

#include "matcomp/layers/modules/module.h"
#include "matcomp/layers/modules/weight.h"

namespace mc {

class Dense : public Module {
 public:
  // W starts as the given (in, out) matrix; b at bias_init. `group` applies to W only.
  Dense(Tensor weight_init, float bias_init = 0.0f, ParamGroup group = {});
  std::string type() const override { return "Dense"; }
  Var forward(const Var& x);
  std::shared_ptr<Weight> weight() const { return child<Weight>("weight"); }
  int64_t in_features() const { return weight()->rows(); }
  int64_t out_features() const { return weight()->cols(); }
};

}  // namespace mc
