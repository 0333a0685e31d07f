// Training steps of compressed models against the dense one, side by side in one run:
//   BM_TrainStep_Cifar10Cnn_Compressed/<m>/<p>  the reference CNN, local3 + local4 at ratio 0.25,
//                                              one SGD step of batch 128 (as BM_TrainStep_Cifar10Cnn)
//   BM_TrainStep_PtbSmall_Compressed/<m>/<p>    the small PTB LSTM, kernels + softmax at ratio 0.25,
//                                              one step of a 20x20 window (as BM_TrainStep_PtbSmallLstm)
// <m> indexes methods() (0 = dense, then the registry's methods in registration order; the label
// names it). <p> is the phase: 0 during the hand-over (the blend, alpha 0.5, both A and the
// factors train; for pruning, the schedule that updates the mask every 10 steps), 1 after it
// (the factors alone; pruning's final mask). The compression controller's hooks run every step,
// as in the drivers. items/s: images or tokens.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "benchmarks/bench_methods.h"
#include "matcomp/autograd/ops.h"
#include "matcomp/compression/apply_compression.h"
#include "matcomp/compression/registry.h"
#include "matcomp/core/parallel.h"
#include "matcomp/core/rng.h"
#include "matcomp/layers/models/cifar10_cnn.h"
#include "matcomp/layers/optim/optimizer.h"
#include "matcomp/layers/models/ptb_lstm.h"
#include "matcomp/layers/optim/sgd.h"
#include "matcomp/layers/kernels/softmax_loss.h"

namespace {

const std::vector<std::string>& methods() { return bench::dense_and_registered_methods(); }

bool is_prune(const std::string& method) { return method.rfind("prune", 0) == 0; }

// Compression from step 0: phase 0 holds the blend at alpha 0.5 (one update of 0.5, the next
// one a million steps away) or keeps the pruning schedule running; phase 1 switches at once.
std::unique_ptr<mc::CompressionController> compress(mc::Module& model, const std::string& method, int phase,
                                                    std::vector<std::string> layers) {
  if (method == "dense") return nullptr;
  mc::CompressionSpec spec;
  spec.include = std::move(layers);
  spec.compressor = mc::by_ratio(method, 0.25);
  if (is_prune(method))
    spec.pruning = phase == 0 ? mc::SparsitySchedule{0, 1000000, 10, 0.0, -1.0} : mc::SparsitySchedule{0, 1, 1, 0.0, -1.0};
  else
    spec.schedule = phase == 0 ? mc::BlendSchedule{0, -1, 1000000, 0.5} : mc::BlendSchedule::immediate(0);
  auto c = mc::apply_compression(model, spec, 1);
  c->on_event = nullptr;
  for (int64_t step = 0; step < 2; ++step) c->before_step(step);
  return c;
}

// The hooks around one step, as the drivers call them.
struct Hooks {
  mc::CompressionController* c;
  int64_t step = 2;
  void before() { if (c) c->before_step(step); }
  void after_backward() { if (c) c->after_backward(step); }
  void after_update() { if (c) c->after_optimizer_step(step); ++step; }
};

void BM_TrainStep_Cifar10Cnn_Compressed(benchmark::State& state) {
  mc::set_num_threads(2);
  const std::string method = methods()[static_cast<size_t>(state.range(0))];
  const int phase = static_cast<int>(state.range(1));
  mc::Rng rng(1);
  mc::Cifar10Cnn model(rng);
  auto c = compress(model, method, phase, {"local3.weight", "local4.weight"});
  mc::SGD opt(model, 0.1f);
  const int64_t batch = model.architecture().batch;
  std::vector<mc::Tensor> images;
  std::vector<std::vector<int32_t>> labels;
  for (int i = 0; i < 4; ++i) {
    images.push_back(mc::Tensor::empty({batch, 3, 24, 24}));
    rng.fill_normal(images.back(), 0, 1);
    labels.emplace_back(static_cast<size_t>(batch));
    for (auto& y : labels.back()) y = static_cast<int32_t>(rng.below(10));
  }
  Hooks hooks{c.get()};
  int i = 0;
  for (auto _ : state) {
    hooks.before();
    mc::Var loss = mc::softmax_cross_entropy(model.forward(mc::Var(images[i])), labels[i]);
    opt.zero_grad();
    loss.backward();
    hooks.after_backward();
    opt.step();
    hooks.after_update();
    i = (i + 1) % 4;
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.SetLabel(method + (phase == 0 ? " hand-over" : " after"));
}

void BM_TrainStep_PtbSmall_Compressed(benchmark::State& state) {
  mc::set_num_threads(2);
  const std::string method = methods()[static_cast<size_t>(state.range(0))];
  const int phase = static_cast<int>(state.range(1));
  mc::Rng rng(1);
  const mc::PtbLstmConfig config = mc::PtbLstmConfig::small();
  mc::PtbLstm model(config, rng);
  auto c = compress(model, method, phase, {"lstm.layer*.weight", "softmax.weight"});
  mc::SGD opt(model, 1.0f);
  const int64_t tokens = config.unroll * config.batch;
  std::vector<std::vector<int32_t>> inputs(4), targets(4);
  for (int w = 0; w < 4; ++w)
    for (int64_t t = 0; t < tokens; ++t) {
      inputs[w].push_back(static_cast<int32_t>(rng.below(static_cast<uint64_t>(config.vocab))));
      targets[w].push_back(static_cast<int32_t>(rng.below(static_cast<uint64_t>(config.vocab))));
    }
  Hooks hooks{c.get()};
  mc::LstmState lstm_state;
  int w = 0;
  for (auto _ : state) {
    hooks.before();
    mc::Var loss = mc::fast_softmax_cross_entropy(model.forward(inputs[w], lstm_state), targets[w]);
    opt.zero_grad();
    loss.backward();
    hooks.after_backward();
    mc::clip_grad_norm(model, 5.0f);
    opt.step();
    hooks.after_update();
    w = (w + 1) % 4;
  }
  state.SetItemsProcessed(state.iterations() * tokens);
  state.SetLabel(method + (phase == 0 ? " hand-over" : " after"));
}

// Dense runs once (its phase means nothing); every method in both phases.
void MethodsAndPhases(benchmark::internal::Benchmark* b) {
  b->Args({0, 1});
  for (int m = 1; m < static_cast<int>(methods().size()); ++m) b->Args({m, 0})->Args({m, 1});
}

}  // namespace

BENCHMARK(BM_TrainStep_Cifar10Cnn_Compressed)->Apply(MethodsAndPhases)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_TrainStep_PtbSmall_Compressed)->Apply(MethodsAndPhases)->Unit(benchmark::kMillisecond)->UseRealTime();
