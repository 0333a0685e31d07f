// BM_Factor: every registered compression method (registry.h's registered_methods(), so a
// method registered later joins without an edit here) x target ratio (0.5, 0.25, 0.1, 0.05)
// x the reference models' matrix shapes, on matrices with a falling spectrum (factor_cases.h),
// and on trained weights when MATCOMP_BENCH_WEIGHTS names a checkpoint or a folder of .npy.
// Settings come from compressor_for_ratio, as a training run gets them. The time is compress()
// alone; the counters say what it bought:
//   rel_error       ||A - Â||_F / ||A||_F, Â the method's own product (materialize)
//   stored_bytes    the compressed form, counted as CompressedMatrix::stored_bits says
//   achieved_ratio  stored_bytes / dense float32 bytes (at most the target ratio)
//   target_ratio, m, n
// The label is a JSON object: the matrix's file stem and the method's settings, which
// scripts/compare_factorizers.py --suite reads to give scikit-learn the same work.
//
// Names: BM_Factor/<method>/<m>x<n>/r<ratio>/<matrix>, e.g. BM_Factor/lowrank/2304x384/r0.25/decay1.
//
//   build/bin/matcomp-bench --benchmark_filter='^BM_Factor/' --benchmark_min_time=0.1
//       --benchmark_out=factor.json --benchmark_out_format=json      (one command line)
//   scripts/factorizer_report.py factor.json
//
// Run time, 2-core machine shared with other jobs (load average 4-5), --benchmark_min_time=0.1:
// the full synthetic suite (6 methods x 4 ratios x 5 shapes = 120 cases) took 6 min 52 s, of
// which 4 min 34 s went to the ten vector k-means cases (kmeans at ratios 0.1 and 0.05, where
// it picks blocks of 2 or 4: 1-100 s each, 102 s for 200x10000 at 0.1, under that load).
// Every case runs at least one compress(); none is skipped. The everyday filter leaves those
// ten out (the other 110 cases' timed work was 109 s of that run):
//   --benchmark_filter='^BM_Factor/(lowrank|simhash|dictionary|prune|quantize)/|^BM_Factor/kmeans/.*/r0\.(5|25)/'

//
// Environment:
//   MATCOMP_BENCH_WEIGHTS=PATH         also factor the trained weights in PATH (a checkpoint,
//                                      or a folder of 2-D float32 .npy files); an unreadable
//                                      PATH gives one BM_Factor/trained case that reports why.
//   MATCOMP_BENCH_THREADS=N            threads for OpenMP and OpenBLAS (default 2); on a busy
//                                      machine 1 thread on both sides gives steadier ratios.
//   MATCOMP_BENCH_SAVE_MATRICES=DIR    write each matrix a case factors to DIR/<stem>.npy, so
//                                      another program can factor exactly the same matrix.
//
// Two kernels that are no registered method stay timed on their own: BM_Omp (Batch-OMP against
// a fixed dictionary) and BM_RandomizedSvd (lowrank's randomized solver).
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "factor_cases.h"
#include "matcomp/compression/methods/lowrank.h"
#include "matcomp/compression/linalg/matching_pursuit.h"
#include "matcomp/compression/registry.h"
#include "matcomp/compression/util.h"
#include "matcomp/core/error.h"
#include "matcomp/core/npy.h"
#include "matcomp/core/parallel.h"
#include "matcomp/core/rng.h"

namespace {

using mc::bench::FactorMatrix;

constexpr double kRatios[] = {0.5, 0.25, 0.1, 0.05};
// CIFAR reference CNN local3 and local4; PTB small LSTM (input + hidden, 4 gates) and softmax;
// a square matrix.
const std::vector<std::pair<int64_t, int64_t>> kShapes = {{2304, 384}, {384, 192}, {400, 800}, {200, 10000}, {1024, 1024}};

std::string ratio_name(double r) {
  std::ostringstream s;
  s << "r" << r;
  return s.str();
}

void save_if_asked(const FactorMatrix& matrix, const mc::Tensor& a) {
  const char* dir = std::getenv("MATCOMP_BENCH_SAVE_MATRICES");
  if (dir == nullptr || *dir == '\0') return;
  const std::filesystem::path path = std::filesystem::path(dir) / (matrix.file_stem() + ".npy");
  if (!std::filesystem::exists(path)) mc::write_npy(path.string(), a);  // atomic
}

// 2 (the machine's cores) unless MATCOMP_BENCH_THREADS says otherwise.
int suite_threads() {
  const char* t = std::getenv("MATCOMP_BENCH_THREADS");
  if (t == nullptr || *t == '\0') return 2;
  char* end = nullptr;
  const long v = std::strtol(t, &end, 10);
  MC_CHECK(end != t && *end == '\0' && v >= 1 && v <= 1024, mc::ValueError,
           "MATCOMP_BENCH_THREADS must be a whole number of threads >= 1, got '" << t << "'");
  return static_cast<int>(v);
}

void factor(benchmark::State& state, const std::string& method, const FactorMatrix& matrix, double ratio) {
  std::unique_ptr<mc::MatrixCompressor> compressor;
  const mc::Tensor* a = nullptr;
  try {
    mc::set_num_threads(suite_threads());
    compressor = mc::compressor_for_ratio(method, matrix.m, matrix.n, ratio);
    a = &mc::bench::cached_matrix(matrix);
    save_if_asked(matrix, *a);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  std::unique_ptr<mc::CompressedMatrix> result;
  for (auto _ : state) {
    mc::Rng rng(2);
    try {
      result = compressor->compress(*a, rng);
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
      break;
    }
  }
  if (!result) return;
  const double dense_bytes = 4.0 * static_cast<double>(matrix.m) * static_cast<double>(matrix.n);
  state.counters["rel_error"] = result->relative_error(*a);
  state.counters["stored_bytes"] = static_cast<double>(result->stored_bytes());
  state.counters["achieved_ratio"] = static_cast<double>(result->stored_bytes()) / dense_bytes;
  state.counters["target_ratio"] = ratio;
  state.counters["m"] = static_cast<double>(matrix.m);
  state.counters["n"] = static_cast<double>(matrix.n);
  state.counters["threads"] = mc::num_threads();
  const nlohmann::json label = {{"matrix", matrix.file_stem()}, {"settings", result->settings()}};
  state.SetLabel(label.dump());
}

void register_cases(const std::vector<FactorMatrix>& matrices) {
  for (const std::string& method : mc::registered_methods())
    for (const FactorMatrix& matrix : matrices)
      for (double ratio : kRatios) {
        const std::string name = "BM_Factor/" + method + "/" + std::to_string(matrix.m) + "x" + std::to_string(matrix.n) + "/" +
                                 ratio_name(ratio) + "/" + matrix.kind;
        benchmark::RegisterBenchmark(name.c_str(), [method, matrix, ratio](benchmark::State& s) { factor(s, method, matrix, ratio); })
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
      }
}

// Registration runs before main (benchmark_main owns main): the case list must exist then.
[[maybe_unused]] const bool registered = [] {
  register_cases(mc::bench::synthetic_matrices(kShapes));
  const char* weights = std::getenv("MATCOMP_BENCH_WEIGHTS");
  if (weights != nullptr && *weights != '\0') {
    try {
      register_cases(mc::bench::trained_matrices(weights));
    } catch (const std::exception& e) {
      // One case that says why, instead of a crash before main or a silent absence.
      const std::string why = std::string("MATCOMP_BENCH_WEIGHTS: ") + e.what();
      benchmark::RegisterBenchmark("BM_Factor/trained", [why](benchmark::State& s) { s.SkipWithError(why.c_str()); });
    }
  }
  return true;
}();

// ------------------------------------------------------------------------- kernels on their own
mc::Tensor gaussian(int64_t m, int64_t n, uint64_t seed) {
  mc::Tensor t = mc::Tensor::empty({m, n});
  mc::Rng rng(seed);
  rng.fill_normal(t, 0.0f, 1.0f);
  return t;
}

void BM_RandomizedSvd(benchmark::State& state) {
  mc::set_num_threads(2);
  const mc::Tensor a = gaussian(state.range(0), state.range(1), 1);
  mc::LowRankSettings s;
  s.rank = std::min(state.range(0), state.range(1)) / 8;
  s.solver = mc::LowRankSettings::Solver::Randomized;
  const mc::LowRankCompressor c(s);
  for (auto _ : state) {
    mc::Rng rng(2);
    auto f = c.compress(a, rng);
    benchmark::DoNotOptimize(f.get());
  }
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

void Shapes(benchmark::internal::Benchmark* b) { b->Args({512, 512})->Args({2304, 384})->Unit(benchmark::kMillisecond)->UseRealTime(); }

}  // namespace

BENCHMARK(BM_RandomizedSvd)->Apply(Shapes);
BENCHMARK(BM_Omp)->Apply(Shapes);
