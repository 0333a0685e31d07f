// The sgemm wrapper against a raw cblas_sgemm call on the same buffers: the wrapper's shape
// checks must cost nothing measurable (target: within 2%). BM_BuiltinGemm: the layers'
// own product (layers/kernels/layer_gemm.h) on the same shapes, where the build has it; OPENBLAS_CORETYPE
// does not reach it, so with an older kernel forced it is the faster of the two.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include "matcomp/core/blas.h"
#include "matcomp/core/parallel.h"
#include "matcomp/core/rng.h"
#include "matcomp/layers/kernels/layer_gemm.h"

namespace {

struct GemmOperands {
  mc::Tensor a, b, c;
  GemmOperands(int64_t m, int64_t k, int64_t n) : a(mc::Tensor::empty({m, k})), b(mc::Tensor::empty({k, n})), c(mc::Tensor::zeros({m, n})) {
    mc::Rng rng(1);
    rng.fill_normal(a, 0, 1);
    rng.fill_normal(b, 0, 1);
  }
};

void set_flops(benchmark::State& state, int64_t m, int64_t k, int64_t n) {
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(m * k * n) * static_cast<double>(state.iterations()),
                                                 benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

void BM_SgemmWrapper(benchmark::State& state) {
  mc::set_num_threads(2);
  const int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  GemmOperands x(m, k, n);
  for (auto _ : state) {
    mc::gemm(x.a, mc::Trans::No, x.b, mc::Trans::No, x.c);
    benchmark::DoNotOptimize(x.c.data());
  }
  set_flops(state, m, k, n);
}

void BM_SgemmRawCblas(benchmark::State& state) {
  mc::set_num_threads(2);
  const int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  GemmOperands x(m, k, n);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), 1.0f,
                x.a.data(), static_cast<int>(k), x.b.data(), static_cast<int>(n), 0.0f, x.c.data(), static_cast<int>(n));
    benchmark::DoNotOptimize(x.c.data());
  }
  set_flops(state, m, k, n);
}

void BM_BuiltinGemm(benchmark::State& state) {
  if (!mc::builtin_gemm_compiled()) {
    state.SkipWithError("the builtin kernel needs an AVX-512 build (MATCOMP_NATIVE=ON)");
    return;
  }
  mc::set_num_threads(2);
  const int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  GemmOperands x(m, k, n);
  for (auto _ : state) {
    mc::builtin_gemm(m, n, k, x.a.data(), k, 1, x.b.data(), n, x.c.data(), n, 1);
    benchmark::DoNotOptimize(x.c.data());
  }
  set_flops(state, m, k, n);
}

// Square sizes plus the shapes the reference models are made of (M, K, N).
void GemmShapes(benchmark::internal::Benchmark* b) {
  b->Args({1024, 1024, 1024})->Args({256, 256, 256})->Args({128, 2304, 384})->Args({20, 400, 800})->Args({400, 200, 10000})->Args({64, 64, 64});
}

}  // namespace

BENCHMARK(BM_SgemmWrapper)->Apply(GemmShapes)->UseRealTime();
BENCHMARK(BM_SgemmRawCblas)->Apply(GemmShapes)->UseRealTime();
BENCHMARK(BM_BuiltinGemm)->Apply(GemmShapes)->UseRealTime();
