// Example 1: your own model, compressed while it trains.
//
// A small network learns a generated task (three interleaved spirals in the plane). Halfway
// through training we hand its middle weight matrix A (64 x 64) to apply_compression: from
// then on the layer uses  W = alpha * A + (1 - alpha) * B C,  with B (64 x r) and C (r x 64)
// found by a truncated SVD of A, and alpha falling from 1 to 0 in steps of 0.1. When alpha
// reaches 0, A is dropped and only B and C remain (and keep training).
//
// Build against an installed matcomp (see examples/CMakeLists.txt), then run:
//   ./01_compress_your_model
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <vector>

#include "matcomp/autograd/ops.h"
#include "matcomp/compression/apply_compression.h"
#include "matcomp/core/rng.h"
#include "matcomp/layers/modules/dense.h"
#include "matcomp/layers/modules/init.h"
#include "matcomp/layers/optim/sgd.h"

namespace {

// The data: 3 spiral arms, `per_class` points each, x (3 per_class, 2), label = arm.
void make_spirals(int64_t per_class, mc::Rng& rng, mc::Tensor& x, std::vector<int32_t>& y) {
  x = mc::Tensor::empty({3 * per_class, 2});
  y.resize(static_cast<size_t>(3 * per_class));
  for (int32_t arm = 0; arm < 3; ++arm)
    for (int64_t i = 0; i < per_class; ++i) {
      const float r = static_cast<float>(i) / static_cast<float>(per_class);  // radius 0..1
      const float t = 4.0f * static_cast<float>(arm) + 4.0f * r + rng.normal(0.0f, 0.2f);
      const int64_t row = arm * per_class + i;
      x.data()[2 * row] = r * std::sin(t);
      x.data()[2 * row + 1] = r * std::cos(t);
      y[static_cast<size_t>(row)] = arm;
    }
}

// The model: 2 -> 64 -> 64 -> 3. Each Dense layer owns a child called "weight", so the
// matrices have the names "fc1.weight", "fc2.weight", "fc3.weight": that is how
// apply_compression finds them.
class SpiralNet : public mc::Module {
 public:
  explicit SpiralNet(mc::Rng& rng) {
    register_module("fc1", std::make_shared<mc::Dense>(mc::glorot_uniform(2, 64, rng)));
    register_module("fc2", std::make_shared<mc::Dense>(mc::glorot_uniform(64, 64, rng)));
    register_module("fc3", std::make_shared<mc::Dense>(mc::glorot_uniform(64, 3, rng)));
  }
  std::string type() const override { return "SpiralNet"; }
  mc::Var forward(const mc::Var& x) {
    mc::Var h = mc::relu(child<mc::Dense>("fc1")->forward(x));
    h = mc::relu(child<mc::Dense>("fc2")->forward(h));
    return child<mc::Dense>("fc3")->forward(h);
  }
};

double accuracy(const mc::Tensor& logits, const std::vector<int32_t>& y) {
  int64_t correct = 0;
  for (int64_t i = 0; i < logits.size(0); ++i) {
    const float* row = logits.data() + 3 * i;
    correct += (std::max_element(row, row + 3) - row) == y[static_cast<size_t>(i)];
  }
  return static_cast<double>(correct) / static_cast<double>(y.size());
}

}  // namespace

int main() {
  mc::Rng rng(1);
  mc::Tensor x;
  std::vector<int32_t> y;
  make_spirals(100, rng, x, y);
  SpiralNet model(rng);
  mc::SGD optimizer(model, /*lr=*/0.5f);

  // What to compress, with what, and when.
  mc::CompressionSpec spec;
  spec.include = {"fc2.weight"};                   // glob patterns over the weight names
  spec.compressor = mc::by_ratio("lowrank", 0.25);  // store at most 25 % of the dense floats
  // From step 600 on, every 10 steps: the first update factors A and sets alpha = 0.9; each
  // later one lowers alpha by 0.1 more; at step 690 alpha is 0 and A is gone.
  spec.schedule = {/*begin_step=*/600, /*end_step=*/-1, /*frequency=*/10, /*alpha_decrement=*/0.1};
  auto compression = mc::apply_compression(model, spec, /*seed=*/1);
  compression->on_event = [](int64_t, const mc::CompressionController&) {};  // keep quiet: we print below

  const int64_t steps = 1200;
  for (int64_t step = 0; step < steps; ++step) {
    compression->before_step(step);  // may factor A, lower alpha, or drop A
    mc::Var logits = model.forward(mc::Var(x));
    mc::Var loss = mc::softmax_cross_entropy(logits, y);
    optimizer.zero_grad();
    loss.backward();
    compression->after_backward(step);
    optimizer.step();  // it notices new parameters (B, C) by itself
    compression->after_optimizer_step(step);

    if (step == 599) std::printf("accuracy before compression (step %lld): %.3f\n",
                                 static_cast<long long>(step), accuracy(logits.value(), y));
    if (step % 100 == 0 || (step >= 590 && step <= 700 && step % 10 == 0))
      std::printf("step %4lld  loss %.4f\n", static_cast<long long>(step), loss.value().item());
  }

  mc::NoGradGuard no_grad;  // evaluation: no graph needed
  const double after = accuracy(model.forward(mc::Var(x)).value(), y);
  std::printf("accuracy after compression (step %lld): %.3f\n\n", static_cast<long long>(steps), after);
  // One line per compressed matrix: method, phase, settings, bytes, relative error.
  std::printf("%s\n", compression->report_table().c_str());
  return after > 0.5 ? 0 : 1;  // three classes: chance is 0.33
}
