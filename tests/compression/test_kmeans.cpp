#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "matcomp/compression/methods/kmeans.h"
#include "matcomp/core/error.h"
#include "matcomp/core/parallel.h"
#include "helpers.h"

using mc_test::gaussian;

namespace {
mc::Tensor from_values(int64_t m, int64_t n, const std::vector<float>& levels, uint64_t seed) {
  mc::Tensor a = mc::Tensor::empty({m, n});
  mc::Rng rng(seed);
  for (float& v : a.span()) v = levels[rng.below(levels.size())];
  return a;
}
}  // namespace

TEST(KMeans, ScalarReproducesMatrixWithLDistinctValues) {
  const std::vector<float> values = {-1.75f, -0.3f, 0.0f, 0.41f, 1.1f, 2.5f, 3.125f};
  const mc::Tensor a = from_values(50, 40, values, 1);
  mc::KMeansSettings s;
  s.levels = 7;
  mc::Rng rng(2);
  auto c = mc::KMeansCompressor(s).compress(a, rng);
  EXPECT_EQ(mc_test::max_abs_diff(c->materialize(), a), 0.0);
  EXPECT_EQ(c->integer_state().at("codes").dtype, "|u1");
}

TEST(KMeans, ScalarExactWithoutZeroRule) {
  const std::vector<float> values = {-1.5f, 0.25f, 0.7f, 9.0f};
  const mc::Tensor a = from_values(30, 30, values, 3);
  mc::KMeansSettings s;
  s.levels = 4;
  s.zero_centroid = false;
  mc::Rng rng(4);
  EXPECT_EQ(mc_test::max_abs_diff(mc::KMeansCompressor(s).compress(a, rng)->materialize(), a), 0.0);
  s.zero_centroid = true;  // now 0.25 (nearest zero) becomes 0: not exact any more
  auto c = mc::KMeansCompressor(s).compress(a, rng);
  EXPECT_GT(mc_test::max_abs_diff(c->materialize(), a), 0.2);
  std::set<float> cb(c->factors()[0].value.data(), c->factors()[0].value.data() + 4);
  EXPECT_TRUE(cb.count(0.0f));
}

// Two levels keep both signs: the zero rule would leave {0, c} and wipe out one sign (our
// 0.05-ratio branches collapsed to chance that way). Gaussian weights at 1 bit: the optimal
// two levels +-sqrt(2/pi) sigma leave a relative error of sqrt(1 - 2/pi) = 0.603; in blocks of
// 2, two centroids capture one direction only: sqrt((2 - 2/pi) / 2) = 0.826.
TEST(KMeans, TwoLevelsKeepBothSignsDespiteTheZeroRule) {
  const mc::Tensor a = gaussian(64, 48, 21);
  for (int64_t block : {1, 2}) {
    mc::KMeansSettings s;
    s.levels = 2;
    s.block = block;
    mc::Rng rng(22);
    auto c = mc::KMeansCompressor(s).compress(a, rng);
    const mc::Tensor codebook = c->factors()[0].value;  // a copy: factors() returns a temporary
    float lowest = 0, highest = 0;
    for (float v : codebook.span()) lowest = std::min(lowest, v), highest = std::max(highest, v);
    EXPECT_LT(lowest, 0.0f) << "block " << block;
    EXPECT_GT(highest, 0.0f) << "block " << block;
    EXPECT_LT(c->relative_error(a), block == 1 ? 0.62 : 0.84) << "block " << block;
  }
}

TEST(KMeans, BlockReproducesMatrixWithLDistinctBlocks) {
  const int64_t m = 40, n = 24, b = 4;
  const std::vector<std::vector<float>> patterns = {
      {0, 0, 0, 0}, {1, 2, 3, 4}, {-1, 0.5f, 0.25f, 2}, {3, -3, 3, -3}, {0.1f, 0.2f, 0.3f, 0.4f}};
  mc::Tensor a = mc::Tensor::empty({m, n});
  mc::Rng rng(5);
  for (int64_t blk = 0; blk < m * n / b; ++blk) {
    const auto& p = patterns[rng.below(patterns.size())];
    std::copy(p.begin(), p.end(), a.data() + blk * b);
  }
  mc::KMeansSettings s;
  s.levels = 5;
  s.block = 4;
  auto c = mc::KMeansCompressor(s).compress(a, rng);
  EXPECT_LT(mc_test::max_abs_diff(c->materialize(), a), 1e-6);
  EXPECT_EQ(c->integer_state().at("codes").shape, (mc::Shape{m, n / b}));
}

TEST(KMeans, OneDimensionalLloydIsAFixedPoint) {
  // Every centroid is the mean of the values nearest to it, and nearer than any other centroid.
  const mc::Tensor a = gaussian(64, 64, 6);
  mc::Rng rng(7);
  const std::vector<float> c = mc::kmeans_1d(a.data(), a.numel(), 16, 300, 2, rng);
  ASSERT_EQ(c.size(), 16u);
  std::vector<double> sum(16, 0.0);
  std::vector<int64_t> cnt(16, 0);
  for (float v : a.span()) {
    size_t best = 0;
    for (size_t j = 1; j < c.size(); ++j)
      if (std::abs(v - c[j]) < std::abs(v - c[best])) best = j;
    sum[best] += v;
    ++cnt[best];
  }
  for (size_t j = 0; j < c.size(); ++j) {
    ASSERT_GT(cnt[j], 0);
    EXPECT_NEAR(c[j], sum[j] / static_cast<double>(cnt[j]), 1e-5);
  }
}

TEST(KMeans, StoredSizeByHand) {
  mc::KMeansSettings s;
  s.levels = 5;  // 3 bits per code
  s.block = 2;
  mc::Rng rng(0);
  auto c = mc::KMeansCompressor(s).compress(gaussian(10, 8, 1), rng);
  EXPECT_EQ(c->stored_bits(), 5 * 2 * 32 + (80 / 2) * 3);  // 320 + 120
  s.levels = 300;
  s.block = 1;
  EXPECT_EQ(mc::kmeans_stored_bits(100, 100, 300, 1), 300 * 32 + 10000 * 9);
  auto big = mc::KMeansCompressor(s).compress(gaussian(100, 100, 2), rng);
  EXPECT_EQ(big->integer_state().at("codes").dtype, "<u2");
}

TEST(KMeans, RefusesBadSettings) {
  mc::Rng rng(0);
  mc::KMeansSettings s;
  s.levels = 1;
  EXPECT_THROW(mc::KMeansCompressor{s}, mc::ValueError);
  s.levels = 4;
  s.block = 3;  // does not divide 8
  try {
    mc::KMeansCompressor(s).compress(gaussian(4, 8, 1), rng);
    FAIL();
  } catch (const mc::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("does not divide"), std::string::npos) << e.what();
  }
  s.block = 1;
  s.levels = 30;  // 30*32 + 32*5 bits > 32*32: more than dense
  EXPECT_THROW(mc::KMeansCompressor(s).compress(gaussian(4, 8, 1), rng), mc::ValueError);
}

TEST(KMeans, Gradients) {
  mc::KMeansSettings s;
  s.levels = 6;
  s.block = 2;
  mc::Rng rng(0);
  auto c = mc::KMeansCompressor(s).compress(gaussian(14, 10, 3), rng);
  mc_test::check_method(*c, 13);
  s.block = 1;
  auto c1 = mc::KMeansCompressor(s).compress(gaussian(14, 10, 4), rng);
  mc_test::check_method(*c1, 14);
}

// The optimal 1-D quantizer against brute force over every partition of small sorted inputs
// into contiguous ranges (an optimal clustering of points on a line is one), with repeated
// values, and its centroids' inertia (nearest-centroid assignment) equal to the optimum.
namespace {
double inertia_1d(const std::vector<float>& values, const std::vector<float>& centroids) {
  double total = 0;
  for (float v : values) {
    double best = std::numeric_limits<double>::infinity();
    for (float c : centroids) best = std::min(best, (static_cast<double>(v) - c) * (static_cast<double>(v) - c));
    total += best;
  }
  return total;
}

// Least inertia of `levels` contiguous ranges of sorted v[from..), by exhaustive recursion.
double brute_force(const std::vector<double>& v, size_t from, int64_t levels) {
  const auto sse = [&](size_t lo, size_t hi) {
    double mean = 0;
    for (size_t i = lo; i < hi; ++i) mean += v[i];
    mean /= static_cast<double>(hi - lo);
    double e = 0;
    for (size_t i = lo; i < hi; ++i) e += (v[i] - mean) * (v[i] - mean);
    return e;
  };
  if (levels == 1) return sse(from, v.size());
  double best = std::numeric_limits<double>::infinity();
  for (size_t end = from + 1; end + static_cast<size_t>(levels - 1) <= v.size(); ++end)
    best = std::min(best, sse(from, end) + brute_force(v, end, levels - 1));
  return best;
}
}  // namespace

TEST(KMeans1dOptimal, MatchesBruteForceOnSmallInputs) {
  mc::Rng rng(31);
  int checked = 0;
  for (int trial = 0; trial < 40; ++trial) {
    const int64_t n = 3 + static_cast<int64_t>(rng.below(10));
    std::vector<float> values(static_cast<size_t>(n));
    for (float& v : values) v = trial % 3 == 0 ? static_cast<float>(rng.below(4)) : rng.normal(0.0f, 1.0f);  // some with repeats
    std::vector<double> sorted(values.begin(), values.end());
    std::sort(sorted.begin(), sorted.end());
    const int64_t distinct = static_cast<int64_t>(std::set<double>(sorted.begin(), sorted.end()).size());
    for (int64_t levels = 1; levels <= std::min<int64_t>(5, distinct); ++levels) {
      const std::vector<float> c = mc::kmeans_1d_optimal(values.data(), n, levels);
      ASSERT_EQ(static_cast<int64_t>(c.size()), levels);
      EXPECT_TRUE(std::is_sorted(c.begin(), c.end()));
      const double ours = inertia_1d(values, c), best = brute_force(sorted, 0, levels);
      EXPECT_NEAR(ours, best, 1e-5 * (1.0 + best)) << "trial " << trial << ", " << levels << " levels of " << n;
      ++checked;
    }
  }
  EXPECT_GT(checked, 100);
}

// Issue #17: Lloyd (4 seeded starts) stops in a local optimum; the optimum is never above it,
// and at 16 levels on Gaussian values it is strictly below.
TEST(KMeans1dOptimal, NeverAboveLloyd) {
  const mc::Tensor a = gaussian(200, 100, 41);
  const std::vector<float> values(a.data(), a.data() + a.numel());
  for (int64_t levels : {2, 8, 16, 64}) {
    mc::Rng rng(42);
    const double lloyd = inertia_1d(values, mc::kmeans_1d(a.data(), a.numel(), levels, 300, 4, rng));
    const double optimal = inertia_1d(values, mc::kmeans_1d_optimal(a.data(), a.numel(), levels));
    EXPECT_LE(optimal, lloyd * (1 + 1e-9)) << levels << " levels";
    if (levels == 16) {
      EXPECT_LT(optimal, lloyd * (1 - 1e-4)) << "Lloyd was already optimal at 16 levels?";
    }
  }
}

// The scalar default is the optimal quantizer where levels * values fits the budget.
TEST(KMeans1dOptimal, IsTheScalarDefaultWithinTheBudget) {
  const mc::Tensor a = gaussian(120, 80, 43);
  mc::KMeansSettings s;
  s.levels = 16;
  s.zero_centroid = false;
  mc::Rng rng(44);
  auto c = mc::KMeansCompressor(s).compress(a, rng);
  const mc::Tensor codebook = c->factors()[0].value;
  const std::vector<float> got(codebook.data(), codebook.data() + codebook.numel());
  EXPECT_EQ(got, mc::kmeans_1d_optimal(a.data(), a.numel(), 16));
}

// The codebook gradient of a matrix with more blocks than one scatter chunk (so the chunks
// are summed by several threads and then combined): each entry within float rounding of the
// plain sequential double sum, and the same bits with 1, 2 and 3 threads; materialize is the
// exact gather. Scalar codes and blocks of 4.
TEST(KMeans, CodebookGradientOverSeveralChunksIsTheSumAndIndependentOfThreads) {
  const int before_threads = mc::num_threads();
  for (const int64_t b : {1, 4}) {
    const int64_t m = 600, n = 400 * b, levels = 16, count = m * n / b;
    ASSERT_GT(count, 2 * mc::kmeans_scatter_chunk(levels * b)) << "the test needs several chunks";
    mc::Rng rng(7);
    std::vector<int32_t> codes(static_cast<size_t>(count));
    for (int32_t& c : codes) c = static_cast<int32_t>(rng.below(levels));
    const mc::KMeansMatrix k(m, n, gaussian(levels, b, 8), codes);
    const mc::Tensor d = gaussian(m, n, 9);

    const mc::Tensor dense = k.materialize();
    const float* cb = k.factors()[0].value.data();
    int64_t wrong_gather = 0;
    for (int64_t i = 0; i < m * n; ++i) wrong_gather += dense.data()[i] != cb[codes[static_cast<size_t>(i / b)] * b + i % b];
    EXPECT_EQ(wrong_gather, 0) << "block " << b;

    std::vector<double> ref(static_cast<size_t>(levels * b), 0.0);
    for (int64_t i = 0; i < m * n; ++i) ref[static_cast<size_t>(codes[static_cast<size_t>(i / b)] * b + i % b)] += d.data()[i];
    std::vector<mc::Tensor> first;
    for (const int threads : {1, 2, 3}) {
      mc::set_num_threads(threads);
      std::vector<mc::Tensor> g{mc::Tensor::full({levels, b}, 0.5f)};  // adds into what is there
      k.materialize_backward(d, g);
      if (first.empty()) {
        first = g;
        for (int64_t e = 0; e < levels * b; ++e)
          EXPECT_NEAR(g[0].data()[e], 0.5 + ref[static_cast<size_t>(e)], 1e-6 * (1.0 + std::abs(ref[static_cast<size_t>(e)])));
      } else {
        EXPECT_EQ(mc_test::max_abs_diff(g[0], first[0]), 0.0) << threads << " threads, block " << b;
      }
    }
  }
  mc::set_num_threads(before_threads);
}
