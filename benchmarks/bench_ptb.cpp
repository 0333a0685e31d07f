// One full training step of the PTB LSTM language model (forward, loss, backward, clip 5,
// SGD update) on random tokens, as the PyTorch anchor does (anchors/torch_ptb_lstm.py).
// items_per_second is tokens/s (batch * unroll per step); peak_rss_mib is the process's.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <string>
#include <vector>

#include "matcomp/autograd/ops.h"
#include "matcomp/core/parallel.h"
#include "matcomp/core/rng.h"
#include "matcomp/layers/kernels/layer_gemm.h"
#include "matcomp/layers/optim/optimizer.h"
#include "matcomp/layers/models/ptb_lstm.h"
#include "matcomp/layers/optim/sgd.h"
#include "matcomp/layers/kernels/softmax_loss.h"

namespace {

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // Linux reports KiB
}

void train_steps(benchmark::State& state, const mc::PtbLstmConfig& config) {
  mc::set_num_threads(2);
  mc::Rng rng(1);
  mc::PtbLstm model(config, rng);
  model.train();
  mc::SGD opt(model, 1.0f);
  const int64_t T = config.unroll, B = config.batch;
  // A fixed pool of random windows, cycled: token sampling stays out of the timing.
  constexpr int kWindows = 8;
  std::vector<std::vector<int32_t>> inputs(kWindows), targets(kWindows);
  for (int w = 0; w < kWindows; ++w)
    for (int64_t i = 0; i < T * B; ++i) {
      inputs[w].push_back(static_cast<int32_t>(rng.below(static_cast<uint64_t>(config.vocab))));
      targets[w].push_back(static_cast<int32_t>(rng.below(static_cast<uint64_t>(config.vocab))));
    }
  mc::LstmState lstm_state;
  int w = 0;
  float loss_value = 0;
  for (auto _ : state) {
    mc::Var logits = model.forward(inputs[w], lstm_state);
    mc::Var loss = mc::fast_softmax_cross_entropy(logits, targets[w]);
    opt.zero_grad();
    loss.backward();
    mc::clip_grad_norm(model, 5.0f);
    opt.step();
    loss_value = loss.value().item();
    w = (w + 1) % kWindows;
  }
  state.SetItemsProcessed(state.iterations() * B * T);
  state.counters["loss"] = loss_value;
  state.counters["peak_rss_mib"] = peak_rss_mib();
  // the product of the softmax layer (the LSTM's own products are OpenBLAS's either way)
  state.SetLabel(std::string("gemm: ") + mc::layer_gemm_name(mc::layer_gemm()));
}

void BM_TrainStep_PtbSmallLstm(benchmark::State& state) { train_steps(state, mc::PtbLstmConfig::small()); }
void BM_TrainStep_PtbMediumLstm(benchmark::State& state) { train_steps(state, mc::PtbLstmConfig::medium()); }

}  // namespace

BENCHMARK(BM_TrainStep_PtbSmallLstm)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_TrainStep_PtbMediumLstm)->Unit(benchmark::kMillisecond)->UseRealTime();
