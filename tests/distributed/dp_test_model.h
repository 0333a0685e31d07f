// Shared by the distributed tests: a small MLP on a generated 4-class task (labels from a
// random linear teacher), and one training setup (model, compression, SGD with momentum,
// gradient reducer) that runs either on the whole global batch or on this rank's shard.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "matcomp/autograd/ops.h"
#include "matcomp/compression/apply_compression.h"
#include "matcomp/core/blas.h"
#include "matcomp/core/rng.h"
#include "matcomp/distributed/gradient_reducer.h"
#include "matcomp/layers/modules/dense.h"
#include "matcomp/layers/modules/init.h"
#include "matcomp/layers/optim/sgd.h"

namespace mc_test {

class Mlp : public mc::Module {
 public:
  explicit Mlp(uint64_t seed) {
    mc::Rng rng(seed);
    register_module("fc1", std::make_shared<mc::Dense>(mc::glorot_uniform(16, 48, rng)));
    register_module("fc2", std::make_shared<mc::Dense>(mc::glorot_uniform(48, 48, rng)));
    register_module("out", std::make_shared<mc::Dense>(mc::glorot_uniform(48, 4, rng)));
  }
  std::string type() const override { return "Mlp"; }
  mc::Var forward(const mc::Var& x) {
    mc::Var h = mc::relu(child<mc::Dense>("fc1")->forward(x));
    h = mc::relu(child<mc::Dense>("fc2")->forward(h));
    return child<mc::Dense>("out")->forward(h);
  }
};

struct Task {
  mc::Tensor x;
  std::vector<int32_t> y;
};

inline Task make_task(int64_t n, uint64_t seed) {
  mc::Rng rng(seed);
  Task t{mc::Tensor::empty({n, 16}), std::vector<int32_t>(static_cast<size_t>(n))};
  rng.fill_normal(t.x, 0, 1);
  mc::Tensor teacher = mc::Tensor::empty({16, 4});
  rng.fill_normal(teacher, 0, 1);
  const mc::Tensor logits = mc::matmul(t.x, teacher);
  for (int64_t i = 0; i < n; ++i) {
    const float* r = logits.data() + 4 * i;
    t.y[static_cast<size_t>(i)] = static_cast<int32_t>(std::max_element(r, r + 4) - r);
  }
  return t;
}

inline constexpr int64_t kGlobalBatch = 64;

// Rows [begin, end) of the global batch that `rank` of `size` trains on. Deliberately uneven
// (rank 0 gets 8 more), so the reducer's weighting by example count is exercised.
inline std::pair<int64_t, int64_t> shard(int rank, int size) {
  auto cut = [&](int r) -> int64_t { return r == 0 ? 0 : r == size ? kGlobalBatch : kGlobalBatch * r / size + 8; };
  return {cut(rank), cut(rank + 1)};
}

inline mc::CompressionSpec lowrank_spec() {
  mc::CompressionSpec spec;
  spec.include = {"fc*.weight"};
  spec.compressor = mc::by_ratio("lowrank", 0.5);
  spec.schedule = mc::BlendSchedule{20, -1, 5, 0.5};  // factor at 20 (alpha 0.5), factored from 25
  return spec;
}

struct Trainer {
  Mlp model;
  std::unique_ptr<mc::CompressionController> compression;
  mc::SGD opt;

  explicit Trainer(uint64_t seed)
      : model(seed), compression(mc::apply_compression(model, lowrank_spec(), 11)), opt(model, 0.05f, {0.5f, false}) {
    compression->on_event = nullptr;
  }

  // The mean loss over rows [begin, end) of the step's global batch; gradients left in place.
  float forward_backward(const Task& task, int64_t step, int64_t begin, int64_t end) {
    const int64_t offset = (step * kGlobalBatch) % task.x.size(0);
    const mc::Tensor x = task.x.rows(offset + begin, offset + end);
    const std::vector<int32_t> y(task.y.begin() + offset + begin, task.y.begin() + offset + end);
    mc::Var loss = mc::softmax_cross_entropy(model.forward(mc::Var(x)), y);
    model.zero_grad();
    loss.backward();
    return loss.value().item();
  }

  void update(int64_t step) {
    opt.step();
    compression->after_optimizer_step(step);
  }
};

}  // namespace mc_test
