// Local response normalisation across channels (TensorFlow's local_response_normalization)
// for NCHW images:
//
//   y[n, d, h, w] = x[n, d, h, w] / (bias + alpha * sum_{d' : |d' - d| <= r} x[n, d', h, w]^2)^beta
//
// (the window is clipped at the first and last channel). Defaults are the CIFAR-10 model's
// (TF tutorial: radius 4, bias 1, alpha 0.001 / 9, beta 0.75).
#pragma once

#include <cstdint>

#include "matcomp/autograd/variable.h"
#include "matcomp/layers/modules/module.h"
#include "matcomp/layers/modules/pool2d.h"

namespace mc {

struct LrnSpec {
  int64_t depth_radius = 4;
  float bias = 1.0f;
  float alpha = 0.001f / 9.0f;
  float beta = 0.75f;
};

// x (N, C, H, W) (or (N, C, ...): everything after the channels is one pixel axis) -> same shape
Var lrn(const Var& x, const LrnSpec& spec = {});

// max_pool2d(lrn(x), pool) as one op, image by image: the normalised activation lives only in
// a per-thread scratch (and is recomputed in backward), so neither it nor the pool's input
// gradient is ever a full-size tensor. Exactly the composed ops' values and gradients.
// x (N, C, H, W) -> (N, C, PH, PW)
Var lrn_maxpool(const Var& x, const LrnSpec& spec, const Pool2dSpec& pool);

class LRN : public Module {
 public:
  explicit LRN(LrnSpec spec = {}) : spec_(spec) {}
  std::string type() const override { return "LRN"; }
  Var forward(const Var& x) { return lrn(x, spec_); }
  Var forward_maxpool(const Var& x, const Pool2dSpec& pool) { return lrn_maxpool(x, spec_, pool); }
  const LrnSpec& spec() const { return spec_; }

 private:
  LrnSpec spec_;
};

}  // namespace mc
