// Elementwise nonlinearities. Each backward uses whichever of input or output makes the
// derivative cheapest (relu: output sign; tanh, sigmoid, exp: output; log: input).
#include <cmath>

#include "matcomp/autograd/elementwise_map.h"
#include "matcomp/autograd/node.h"
#include "matcomp/autograd/ops.h"

namespace mc {

namespace {

// out[i] = f(g[i], s[i])
template <typename F>
Tensor zip(const Tensor& g, const Tensor& s, F f) {
  Tensor out = Tensor::empty(g.shape());
  const float* pg = g.data();
  const float* ps = s.data();
  float* po = out.data();
  const int64_t n = g.numel();
#pragma omp parallel for simd if (n > 65536)
  for (int64_t i = 0; i < n; ++i) po[i] = f(pg[i], ps[i]);
  return out;
}

// One unary op whose backward is g * derivative(saved), saved being the input or the output.
template <typename Forward, typename Derivative>
Var unary(const char* name, const Var& x, bool save_output, Forward forward, Derivative derivative) {
  Tensor out = elementwise_map(x.value(), forward);
  SavedTensor saved(save_output ? out : x.value(), name);
  return record(name, std::move(out), {x}, [saved, derivative](const Grads& g, const Needs&) {
    return Grads{zip(g[0], saved.get(), [derivative](float gv, float sv) { return gv * derivative(sv); })};
  });
}

}  // namespace

Var relu(const Var& x) {
  return unary("relu", x, true, [](float v) { return v > 0.0f ? v : 0.0f; },
               [](float y) { return y > 0.0f ? 1.0f : 0.0f; });
}

Var tanh(const Var& x) {
  return unary("tanh", x, true, [](float v) { return std::tanh(v); }, [](float y) { return 1.0f - y * y; });
}

Var sigmoid(const Var& x) {
  return unary("sigmoid", x, true, [](float v) { return 1.0f / (1.0f + std::exp(-v)); },
               [](float y) { return y * (1.0f - y); });
}

Var exp(const Var& x) {
  return unary("exp", x, true, [](float v) { return std::exp(v); }, [](float y) { return y; });
}

Var log(const Var& x) {
  return unary("log", x, false, [](float v) { return std::log(v); }, [](float v) { return 1.0f / v; });
}

}  // namespace mc
