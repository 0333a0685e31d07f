#include "matcomp/layers/optim/sgd.h"

#include <nlohmann/json.hpp>

#include "matcomp/core/error.h"

namespace mc {

SGD::SGD(Module& model, float lr, SgdOptions options) : Optimizer(model), options_(options) {
  set_learning_rate(lr);
  MC_CHECK(options.momentum >= 0.0f && options.momentum < 1.0f, ValueError, "SGD momentum must be in [0, 1), got " << options.momentum);
  MC_CHECK(!options.nesterov || options.momentum > 0.0f, ValueError, "Nesterov SGD needs momentum > 0");
}

void SGD::step() {
  for (Param& p : params_with_grad()) {
    Tensor& w = p.var.value();
    const float* g = p.var.grad().data();
    float* pw = w.data();
    const float lr = learning_rate() * p.group.lr_scale, wd = p.group.weight_decay, mu = options_.momentum;
    const int64_t n = w.numel();
    if (mu == 0.0f) {
#pragma omp parallel for simd if (n > 65536)
      for (int64_t i = 0; i < n; ++i) pw[i] -= lr * (g[i] + wd * pw[i]);
    } else {
      float* a = slot(p.name, "momentum", w).data();
      const bool nesterov = options_.nesterov;
#pragma omp parallel for simd if (n > 65536)
      for (int64_t i = 0; i < n; ++i) {
        const float gi = g[i] + wd * pw[i];
        a[i] = mu * a[i] + gi;
        pw[i] -= lr * (nesterov ? gi + mu * a[i] : a[i]);
      }
    }
    w.mark_modified();
  }
  finish_step();
}

nlohmann::json SGD::config() const {
  nlohmann::json c = Optimizer::config();
  c["momentum"] = options_.momentum;
  c["nesterov"] = options_.nesterov;
  return c;
}

}  // namespace mc
