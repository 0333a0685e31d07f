// SGD with optional momentum (TF / PyTorch form: accum = momentum * accum + g,
// w -= lr * accum; Nesterov: w -= lr * (g + momentum * accum)). A parameter group's
// weight_decay adds wd * w to the gradient (an L2 loss term, as TF's models do); its
// lr_scale multiplies the learning rate. Slot: "momentum".
#pragma once

#include "matcomp/layers/optim/optimizer.h"

namespace mc {

struct SgdOptions {
  float momentum = 0.0f;
  bool nesterov = false;
};

class SGD : public Optimizer {
 public:
  SGD(Module& model, float lr, SgdOptions options = {});
  void step() override;
  nlohmann::json config() const override;
  std::string type() const override { return "SGD"; }

 private:
  SgdOptions options_;
};

}  // namespace mc
