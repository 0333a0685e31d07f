// A small real demo: a 2-layer network learns a generated 3-class spiral; the loss falls.
// Runs in a second on any machine, no data needed.
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>

#include "matcomp/autograd/ops.h"
#include "matcomp/core/parallel.h"
#include "matcomp/core/rng.h"
#include "matcomp/layers/dense.h"
#include "matcomp/layers/init.h"

namespace {

// 3 interleaved spiral arms in 2-D, `per_class` points each, with a little noise.
void make_spirals(int64_t per_class, mc::Rng& rng, mc::Tensor& x, std::vector<int32_t>& y) {
  x = mc::Tensor::empty({3 * per_class, 2});
  y.resize(static_cast<size_t>(3 * per_class));
  for (int32_t c = 0; c < 3; ++c)
    for (int64_t i = 0; i < per_class; ++i) {
      const float r = static_cast<float>(i) / static_cast<float>(per_class);
      const float t = 4.0f * static_cast<float>(c) + 4.0f * r + rng.normal(0.0f, 0.2f);
      const int64_t row = c * per_class + i;
      x.data()[2 * row] = r * std::sin(t);
      x.data()[2 * row + 1] = r * std::cos(t);
      y[static_cast<size_t>(row)] = c;
    }
}

class Mlp : public mc::Module {
 public:
  Mlp(int64_t hidden, mc::Rng& rng) {
    register_module("fc1", std::make_shared<mc::Dense>(mc::glorot_uniform(2, hidden, rng)));
    register_module("fc2", std::make_shared<mc::Dense>(mc::glorot_uniform(hidden, 3, rng)));
  }
  std::string type() const override { return "Mlp"; }
  mc::Var forward(const mc::Var& x) {
    return child<mc::Dense>("fc2")->forward(mc::relu(child<mc::Dense>("fc1")->forward(x)));
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"matcomp demo: a 2-layer network learns a generated spiral task"};
  uint64_t seed = 1;
  int steps = 600, hidden = 64, threads = 2;
  float lr = 0.5f;
  app.add_option("--seed", seed, "random seed");
  app.add_option("--steps", steps, "SGD steps")->check(CLI::PositiveNumber);
  app.add_option("--hidden", hidden, "hidden units")->check(CLI::PositiveNumber);
  app.add_option("--lr", lr, "learning rate")->check(CLI::PositiveNumber);
  app.add_option("--threads", threads, "threads");
  CLI11_PARSE(app, argc, argv);
  mc::set_num_threads(threads);

  mc::Rng rng(seed);
  mc::Tensor x;
  std::vector<int32_t> y;
  make_spirals(100, rng, x, y);
  Mlp model(hidden, rng);
  std::printf("step  loss     accuracy\n");
  for (int step = 1; step <= steps; ++step) {
    mc::Var logits = model.forward(mc::Var(x));
    mc::Var loss = mc::softmax_cross_entropy(logits, y);
    model.zero_grad();
    loss.backward();
    for (auto& [name, p] : model.named_parameters()) {
      float* w = p.value().data();
      const float* g = p.grad().data();
      for (int64_t i = 0; i < p.numel(); ++i) w[i] -= lr * g[i];
      p.value().mark_modified();
    }
    if (step == 1 || step % 100 == 0) {
      int correct = 0;
      for (int64_t i = 0; i < logits.shape()[0]; ++i) {
        const float* row = logits.value().data() + 3 * i;
        const int pred = static_cast<int>(std::max_element(row, row + 3) - row);
        correct += pred == y[static_cast<size_t>(i)];
      }
      std::printf("%4d  %.4f   %.3f\n", step, loss.value().item(), correct / static_cast<double>(y.size()));
    }
  }
  return 0;
}
