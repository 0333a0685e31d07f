#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "matcomp/compression/kmeans.h"
#include "matcomp/core/error.h"
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
