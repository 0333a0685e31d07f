// The reference CIFAR-10 CNN (layers/models/cifar10_cnn.h) as the PyTorch anchor runs it
// (anchors/torch_cifar_reference.py): one SGD step (lr 0.1, batch 128, random N(0, 1) images
// and random labels from a pool of 4 batches), and forward-only inference. items_per_second
// is images/s; peak_rss_mib is the process's peak resident memory.
// BM_Conv2dForward / BM_Conv2dBackward time the model's two convolutions on their own.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <string>
#include <vector>

#include "matcomp/autograd/ops.h"
#include "matcomp/core/parallel.h"
#include "matcomp/core/rng.h"
#include "matcomp/layers/models/cifar10_cnn.h"
#include "matcomp/layers/kernels/conv2d_op.h"
#include "matcomp/layers/kernels/layer_gemm.h"
#include "matcomp/layers/modules/pool2d.h"
#include "matcomp/layers/optim/sgd.h"

namespace {

// Minor page faults so far: on this VM each one costs several microseconds, and fresh
// activation buffers fault in again every step once glibc has trimmed the heap.
double minor_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_minflt);
}

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // Linux reports KiB
}

// Multiply-adds of the model's convolutions and dense layers, times 2: 37.1 MFLOP per image.
double forward_flop_per_image() {
  return 2.0 * (24.0 * 24 * 64 * 75 + 12.0 * 12 * 64 * 1600 + 2304.0 * 384 + 384.0 * 192 + 192.0 * 10);
}

struct Batches {
  std::vector<mc::Tensor> images;
  std::vector<std::vector<int32_t>> labels;
  Batches(int64_t batch, int count, mc::Rng& rng) {
    for (int i = 0; i < count; ++i) {
      mc::Tensor x = mc::Tensor::empty({batch, 3, 24, 24});
      rng.fill_normal(x, 0.0f, 1.0f);
      images.push_back(x);
      std::vector<int32_t> y(static_cast<size_t>(batch));
      for (auto& v : y) v = static_cast<int32_t>(rng.below(10));
      labels.push_back(std::move(y));
    }
  }
};

void BM_TrainStep_Cifar10Cnn(benchmark::State& state) {
  mc::set_num_threads(2);
  mc::Rng rng(1);
  mc::Cifar10Cnn model(rng);
  mc::SGD opt(model, 0.1f);
  const int64_t batch = model.architecture().batch;
  Batches data(batch, 4, rng);
  int i = 0;
  float loss_value = 0;
  const double faults_before = minor_faults();
  for (auto _ : state) {
    mc::Var loss = mc::softmax_cross_entropy(model.forward(mc::Var(data.images[i])), data.labels[i]);
    opt.zero_grad();
    loss.backward();
    opt.step();
    loss_value = loss.value().item();
    i = (i + 1) % 4;
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["GFLOP/s"] = benchmark::Counter(3 * forward_flop_per_image() * static_cast<double>(state.iterations() * batch),
                                                 benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
  state.counters["loss"] = loss_value;
  state.counters["peak_rss_mib"] = peak_rss_mib();
  state.counters["faults_per_step"] = (minor_faults() - faults_before) / static_cast<double>(state.iterations());
  state.SetLabel(std::string("gemm: ") + mc::layer_gemm_name(mc::layer_gemm()));
}

void BM_Infer_Cifar10Cnn(benchmark::State& state) {
  mc::set_num_threads(2);
  mc::Rng rng(1);
  mc::Cifar10Cnn model(rng);
  model.train(false);
  const int64_t batch = model.architecture().batch;
  Batches data(batch, 4, rng);
  mc::NoGradGuard no_grad;
  int i = 0;
  for (auto _ : state) {
    mc::Var logits = model.forward(mc::Var(data.images[i]));
    benchmark::DoNotOptimize(logits.value().data());
    i = (i + 1) % 4;
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["GFLOP/s"] = benchmark::Counter(forward_flop_per_image() * static_cast<double>(state.iterations() * batch),
                                                 benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
  state.counters["peak_rss_mib"] = peak_rss_mib();
  state.SetLabel(std::string("gemm: ") + mc::layer_gemm_name(mc::layer_gemm()));
}

// Args: batch, in channels, image size, out channels (5x5 SAME, stride 1, ReLU fused as in the model).
struct ConvCase {
  mc::Tensor x, w, b;
  mc::Conv2dSpec spec{5, 5, 1, mc::Padding::Same, true};
  double flop;
  explicit ConvCase(const benchmark::State& state) {
    const int64_t n = state.range(0), c = state.range(1), s = state.range(2), co = state.range(3);
    mc::Rng rng(2);
    x = mc::Tensor::empty({n, c, s, s});
    w = mc::Tensor::empty({25 * c, co});
    b = mc::Tensor::zeros({co});
    rng.fill_normal(x, 0.0f, 1.0f);
    rng.fill_normal(w, 0.0f, 0.05f);
    flop = 2.0 * static_cast<double>(n * s * s * co * 25 * c);
  }
};

void BM_Conv2dForward(benchmark::State& state) {
  mc::set_num_threads(2);
  ConvCase k(state);
  mc::NoGradGuard no_grad;
  for (auto _ : state) {
    mc::Var y = mc::conv2d(mc::Var(k.x), mc::Var(k.w), mc::Var(k.b), k.spec);
    benchmark::DoNotOptimize(y.value().data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(k.flop * static_cast<double>(state.iterations()),
                                                 benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
  state.SetLabel(std::string("gemm: ") + mc::layer_gemm_name(mc::layer_gemm()));
}

// Backward alone, the forward redone untimed each time: dx, dW, db (twice the forward's flops),
// except for 3 input channels, where as in the model the images need no gradient (dW, db only).
void BM_Conv2dBackward(benchmark::State& state) {
  mc::set_num_threads(2);
  ConvCase k(state);
  mc::Rng rng(3);
  const bool need_dx = state.range(1) != 3;
  mc::Var x(k.x, need_dx), w(k.w, true), b(k.b, true);
  mc::Tensor seed;
  for (auto _ : state) {
    state.PauseTiming();
    mc::Var y = mc::conv2d(x, w, b, k.spec);
    if (!seed.defined()) {
      seed = mc::Tensor::empty(y.shape());
      rng.fill_normal(seed, 0.0f, 1.0f);
    }
    x.zero_grad();
    w.zero_grad();
    b.zero_grad();
    state.ResumeTiming();
    y.backward(seed);
  }
  state.counters["GFLOP/s"] = benchmark::Counter((need_dx ? 2 : 1) * k.flop * static_cast<double>(state.iterations()),
                                                 benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
  state.SetLabel(std::string("gemm: ") + mc::layer_gemm_name(mc::layer_gemm()));
}

// The model's max-pool on its own (3x3 windows, stride 2, SAME): pool1's input (N, 64, 24, 24),
// forward only, 2 threads. Memory-bound: the counter is input bytes read per second.
void BM_MaxPool2dForward(benchmark::State& state) {
  mc::set_num_threads(2);
  const int64_t n = state.range(0), c = state.range(1), s = state.range(2);
  mc::Rng rng(4);
  mc::Tensor x = mc::Tensor::empty({n, c, s, s});
  rng.fill_normal(x, 0.0f, 1.0f);
  mc::NoGradGuard no_grad;
  for (auto _ : state) {
    mc::Var y = mc::max_pool2d(mc::Var(x), {3, 3, 2, mc::Padding::Same});
    benchmark::DoNotOptimize(y.value().data());
  }
  state.counters["GB/s"] = benchmark::Counter(4.0 * static_cast<double>(x.numel()) * static_cast<double>(state.iterations()),
                                              benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

void ConvShapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"N", "C", "HW", "Cout"})->Args({128, 3, 24, 64})->Args({128, 64, 12, 64});
}

}  // namespace

BENCHMARK(BM_TrainStep_Cifar10Cnn)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Infer_Cifar10Cnn)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Conv2dForward)->Apply(ConvShapes)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Conv2dBackward)->Apply(ConvShapes)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_MaxPool2dForward)->ArgNames({"N", "C", "HW"})->Args({128, 64, 24})->Args({128, 64, 12})
    ->Unit(benchmark::kMillisecond)->UseRealTime();
