// Dropout: inverted dropout. In training each element is kept with probability 1 - p and
// scaled by 1 / (1 - p), so evaluation (Module::is_training() false) is the identity.
// The mask comes from an Rng: the caller's (so a checkpoint of that Rng restores the masks)
// or one the module owns, seeded at construction.
#pragma once

#include "matcomp/autograd/variable.h"
#include "matcomp/core/rng.h"
#include "matcomp/layers/modules/module.h"

namespace mc {

// x * mask, elementwise, with the mask a constant (same shape as x). The differentiable core
// of Dropout, exposed so a gradient check can fix the mask.
Var apply_mask(const Var& x, const Tensor& mask);

class Dropout : public Module {
 public:
  // rng == nullptr: the module owns Rng(seed). Otherwise rng must outlive the module.
  explicit Dropout(float p, Rng* rng = nullptr, uint64_t seed = 0);
  Dropout(const Dropout&) = delete;  // rng_ may point at own_rng_
  Dropout& operator=(const Dropout&) = delete;
  std::string type() const override { return "Dropout"; }
  Var forward(const Var& x);
  float p() const { return p_; }
  Tensor make_mask(const Shape& shape);  // entries 0 or 1 / (1 - p)

 private:
  float p_;
  Rng own_rng_;
  Rng* rng_;
};

}  // namespace mc
