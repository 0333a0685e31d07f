#include "matcomp/layers/optim/adam.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "matcomp/core/error.h"

namespace mc {

Adam::Adam(Module& model, float lr, AdamOptions options) : Optimizer(model), options_(options) {
  set_learning_rate(lr);
  MC_CHECK(options.beta1 >= 0 && options.beta1 < 1 && options.beta2 >= 0 && options.beta2 < 1 && options.epsilon > 0,
           ValueError, "Adam needs betas in [0, 1) and epsilon > 0");
}

void Adam::step() {
  const float b1 = options_.beta1, b2 = options_.beta2, eps = options_.epsilon;
  for (Param& p : params_with_grad()) {
    Tensor& w = p.var.value();
    float* m = slot(p.name, "m", w).data();
    float* v = slot(p.name, "v", w).data();
    Tensor& count = slot(p.name, "step", Tensor::scalar(0));
    const float t = count.data()[0] + 1.0f;
    count.data()[0] = t;
    const float lr = learning_rate() * p.group.lr_scale;
    const float c1 = 1.0f - static_cast<float>(std::pow(b1, t)), c2 = 1.0f - static_cast<float>(std::pow(b2, t));
    const float wd = p.group.weight_decay;
    const bool decoupled = options_.decoupled;
    const float* g = p.var.grad().data();
    float* pw = w.data();
    const int64_t n = w.numel();
#pragma omp parallel for simd if (n > 65536)
    for (int64_t i = 0; i < n; ++i) {
      const float gi = decoupled ? g[i] : g[i] + wd * pw[i];
      m[i] = b1 * m[i] + (1.0f - b1) * gi;
      v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
      const float update = (m[i] / c1) / (std::sqrt(v[i] / c2) + eps);
      pw[i] -= lr * (decoupled ? update + wd * pw[i] : update);
    }
    w.mark_modified();
  }
  finish_step();
}

nlohmann::json Adam::config() const {
  nlohmann::json c = Optimizer::config();
  c["beta1"] = options_.beta1;
  c["beta2"] = options_.beta2;
  c["epsilon"] = options_.epsilon;
  c["decoupled"] = options_.decoupled;
  return c;
}

}  // namespace mc
