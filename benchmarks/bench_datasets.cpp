// Input-pipeline cost, on generated data so it runs anywhere. Budget: one augmented CIFAR-10
// batch of 128 well under 5% of a ~60 ms training step (3 ms), i.e. above ~43k images/s.
#include <benchmark/benchmark.h>

#include <vector>

#include "matcomp/core/rng.h"
#include "matcomp/datasets/cifar10.h"
#include "matcomp/datasets/cifar10_augment.h"
#include "matcomp/datasets/cifar10_loader.h"
#include "matcomp/datasets/lm_batcher.h"

namespace {

const mc::data::Cifar10Split& generated_cifar() {
  static const mc::data::Cifar10Split split = [] {
    mc::data::Cifar10Split s;
    const int64_t n = 4096;
    mc::Rng rng(1);
    s.pixels.resize(static_cast<size_t>(n * mc::data::kCifarImageBytes));
    for (uint8_t& p : s.pixels) p = static_cast<uint8_t>(rng.below(256));
    for (int64_t i = 0; i < n; ++i) s.labels.push_back(static_cast<uint8_t>(i % 10));
    return s;
  }();
  return split;
}

// One batch of 128 assembled on the calling thread: crop, flip, brightness, contrast,
// standardization, into (128, 3, 24, 24).
void BM_Cifar10Batch(benchmark::State& state) {
  const auto& split = generated_cifar();
  const bool augment = state.range(0) != 0;
  constexpr int64_t kBatch = 128;
  mc::Rng rng(2);
  const std::vector<int64_t> order = rng.permutation(split.size());
  std::vector<float> images(kBatch * mc::data::kCropPixels);
  std::vector<int32_t> labels(kBatch);
  int64_t start = 0;
  for (auto _ : state) {
    mc::data::assemble_batch(split, std::span<const int64_t>(order).subspan(static_cast<size_t>(start), kBatch), augment,
                             rng, images.data(), labels.data());
    benchmark::DoNotOptimize(images.data());
    start = (start + kBatch) % (split.size() - kBatch);
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.SetLabel(augment ? "train (augmented)" : "eval (centre crop)");
}
BENCHMARK(BM_Cifar10Batch)->Arg(1)->Arg(0)->Unit(benchmark::kMicrosecond);

// Batches through the loader's background thread, as a trainer sees them when it is faster
// than the producer (no training work in between): the producer's sustained throughput.
void BM_Cifar10Loader(benchmark::State& state) {
  mc::data::Cifar10Loader loader(generated_cifar(), 128, true, 3);
  mc::Tensor x;
  std::vector<int32_t> y;
  for (auto _ : state) {
    if (!loader.next(x, y)) loader.next(x, y);  // step over the epoch boundary
    benchmark::DoNotOptimize(x.data());
  }
  state.SetItemsProcessed(state.iterations() * 128);
}
BENCHMARK(BM_Cifar10Loader)->Unit(benchmark::kMicrosecond)->UseRealTime();

// One 20 x 20 window of PTB-sized token ids (time-major inputs and targets).
void BM_PtbBatch(benchmark::State& state) {
  std::vector<int32_t> tokens(929589);
  mc::Rng rng(4);
  for (int32_t& t : tokens) t = static_cast<int32_t>(rng.below(10000));
  const mc::data::LmBatcher batcher(tokens, 20, 20);
  std::vector<int32_t> x, y;
  int64_t i = 0;
  for (auto _ : state) {
    batcher.window(i, x, y);
    benchmark::DoNotOptimize(x.data());
    benchmark::DoNotOptimize(y.data());
    i = (i + 1) % batcher.num_windows();
  }
  state.SetItemsProcessed(state.iterations() * 20 * 20);
}
BENCHMARK(BM_PtbBatch);

}  // namespace
