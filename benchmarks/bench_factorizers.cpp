// The factorizers on 512x512 and 2304x384 (the reference CIFAR model's first compressed
// layer), Gaussian entries. Settings follow the side-by-side comparison with scikit-learn
// (scripts/compare_factorizers.py): rank min(m,n)/8, 256 levels, 8 nonzeros, 10 rounds.
#include <benchmark/benchmark.h>

#include <cmath>

#include "matcomp/compression/dictionary.h"
#include "matcomp/compression/kmeans.h"
#include "matcomp/compression/lowrank.h"
#include "matcomp/compression/omp.h"
#include "matcomp/compression/pruning.h"
#include "matcomp/compression/simhash.h"
#include "matcomp/core/parallel.h"
#include "matcomp/core/rng.h"

namespace {

mc::Tensor gaussian(int64_t m, int64_t n, uint64_t seed) {
  mc::Tensor t = mc::Tensor::empty({m, n});
  mc::Rng rng(seed);
  rng.fill_normal(t, 0.0f, 1.0f);
  return t;
}

void run(benchmark::State& state, const mc::MatrixCompressor& c) {
  mc::set_num_threads(2);
  const mc::Tensor a = gaussian(state.range(0), state.range(1), 1);
  for (auto _ : state) {
    mc::Rng rng(2);
    auto f = c.compress(a, rng);
    benchmark::DoNotOptimize(f.get());
  }
}

int64_t rank_of(const benchmark::State& s) { return std::min(s.range(0), s.range(1)) / 8; }

void BM_LowRank(benchmark::State& state) {
  mc::LowRankSettings s;
  s.rank = rank_of(state);
  s.solver = mc::LowRankSettings::Solver::Full;
  run(state, mc::LowRankCompressor(s));
}
void BM_RandomizedSvd(benchmark::State& state) {
  mc::LowRankSettings s;
  s.rank = rank_of(state);
  s.solver = mc::LowRankSettings::Solver::Randomized;
  run(state, mc::LowRankCompressor(s));
}
void BM_Simhash(benchmark::State& state) {
  mc::SimhashSettings s;
  s.bits = 256;
  run(state, mc::SimhashCompressor(s));
}
void BM_KMeansScalar(benchmark::State& state) {
  mc::KMeansSettings s;
  s.levels = 256;
  run(state, mc::KMeansCompressor(s));
}
void BM_KMeansBlock(benchmark::State& state) {
  mc::KMeansSettings s;
  s.levels = 256;
  s.block = 4;
  run(state, mc::KMeansCompressor(s));
}
void BM_Omp(benchmark::State& state) {
  // Rows of A against 2 m unit-norm atoms (rows of D), 8 nonzeros.
  mc::set_num_threads(2);
  const int64_t m = state.range(0), n = state.range(1);
  const mc::Tensor a = gaussian(m, n, 1);
  mc::Tensor d = gaussian(2 * m, n, 3);
  for (int64_t j = 0; j < 2 * m; ++j) {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += static_cast<double>(d.data()[j * n + i]) * d.data()[j * n + i];
    for (int64_t i = 0; i < n; ++i) d.data()[j * n + i] = static_cast<float>(d.data()[j * n + i] / std::sqrt(s));
  }
  for (auto _ : state) {
    auto x = mc::batch_omp(a, d, 8);
    benchmark::DoNotOptimize(x.val.data());
  }
}
void BM_DictionaryLearning(benchmark::State& state) {
  mc::DictionarySettings s;
  s.atoms = std::min<int64_t>(256, state.range(0) / 2);
  s.nnz = 8;
  s.iters = 10;
  run(state, mc::DictionaryCompressor(s));
}
void BM_PruneMagnitude(benchmark::State& state) {
  mc::PruneSettings s;
  s.sparsity = 0.9;
  run(state, mc::PruneCompressor(s));
}

void Shapes(benchmark::internal::Benchmark* b) { b->Args({512, 512})->Args({2304, 384})->Unit(benchmark::kMillisecond)->UseRealTime(); }

}  // namespace

BENCHMARK(BM_LowRank)->Apply(Shapes);
BENCHMARK(BM_RandomizedSvd)->Apply(Shapes);
BENCHMARK(BM_Simhash)->Apply(Shapes);
BENCHMARK(BM_KMeansScalar)->Apply(Shapes);
BENCHMARK(BM_KMeansBlock)->Apply(Shapes);
BENCHMARK(BM_Omp)->Apply(Shapes);
BENCHMARK(BM_DictionaryLearning)->Apply(Shapes);
BENCHMARK(BM_PruneMagnitude)->Apply(Shapes);
