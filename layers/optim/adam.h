// Adam (Kingma & Ba) with bias correction. Weight decay: by default a group's weight_decay
// is added to the gradient (L2, as with SGD); with decoupled = true it is applied to the
// weights directly (AdamW: w -= lr * wd * w). Slots: "m", "v", and "step" (a scalar: each
// parameter counts its own updates, so one added later by compression gets the right bias
// correction).
#pragma once

#include "matcomp/layers/optim/optimizer.h"

namespace mc {

struct AdamOptions {
  float beta1 = 0.9f, beta2 = 0.999f, epsilon = 1e-8f;
  bool decoupled = false;
};

class Adam : public Optimizer {
 public:
  Adam(Module& model, float lr, AdamOptions options = {});
  void step() override;
  nlohmann::json config() const override;
  std::string type() const override { return "Adam"; }

 private:
  AdamOptions options_;
};

}  // namespace mc
