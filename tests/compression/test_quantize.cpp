#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <set>

#include "matcomp/compression/methods/quantize.h"
#include "matcomp/compression/registry.h"
#include "matcomp/compression/util.h"
#include "matcomp/core/error.h"
#include "helpers.h"

using mc_test::gaussian;

namespace {

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const mc::Error& e) {
    return e.what();
  }
  return "<no error>";
}

std::unique_ptr<mc::CompressedMatrix> quantize(const mc::Tensor& a, int bits, int iters = 20) {
  mc::QuantizeSettings s;
  s.bits = bits;
  s.iters = iters;
  mc::Rng rng(1);
  return mc::QuantizeCompressor(s).compress(a, rng);
}

}  // namespace

// A matrix whose every column already lies on a uniform grid of 2^b levels (own step and
// offset per column) is reproduced exactly.
TEST(Quantize, ReproducesAMatrixOnAPerColumnGrid) {
  const int64_t m = 64, n = 10;
  for (int bits : {1, 3, 8}) {
    const int top = (1 << bits) - 1;
    mc::Tensor a = mc::Tensor::empty({m, n});
    mc::Rng rng(3);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        // Rows 0 and 1 pin the ends of the grid; the rest are random levels.
        const int64_t q = i == 0 ? 0 : i == 1 ? top : static_cast<int64_t>(rng.below(static_cast<uint64_t>(top + 1)));
        a.data()[i * n + j] = -1.0f + 0.25f * static_cast<float>(j) + 0.125f * static_cast<float>(j + 1) * static_cast<float>(q);
      }
    auto c = quantize(a, bits);
    EXPECT_LT(mc_test::max_abs_diff(c->materialize(), a), 1e-5) << bits << " bits";
    EXPECT_EQ(c->stored_bits(), m * n * bits + 64 * n);
  }
}

// Gaussian entries: the error at b bits against the known optimum of uniform quantization of
// a unit Gaussian (Max 1960 / Hui & Neuhoff: SNR ~ 6 dB per bit at high rate), loosely, and
// strictly falling with b. The fit must beat the min-max grid (the outliers set its range).
TEST(Quantize, ErrorFallsWithBitsAndTheFitBeatsMinMax) {
  const mc::Tensor a = gaussian(2048, 16, 5);
  double previous = 1.0;
  for (int bits = 1; bits <= 8; ++bits) {
    const double fitted = quantize(a, bits)->relative_error(a);
    const double minmax = quantize(a, bits, 0)->relative_error(a);
    EXPECT_LT(fitted, previous) << bits;
    EXPECT_LT(fitted, minmax) << bits;
    previous = fitted;
  }
  // Optimal uniform 1-bit quantizer of N(0, 1): levels +-sqrt(2/pi), error sqrt(1 - 2/pi) = 0.603.
  EXPECT_NEAR(quantize(a, 1)->relative_error(a), 0.603, 0.02);
  // 2 bits: the optimal uniform step 0.996 leaves MSE 0.1188 (Max 1960): relative error 0.345.
  EXPECT_NEAR(quantize(a, 2)->relative_error(a), 0.345, 0.02);
}

TEST(Quantize, GradientsOfScaleAndOffset) {
  for (int bits : {1, 4, 8}) {
    auto c = quantize(gaussian(30, 14, 7), bits);
    mc_test::check_method(*c, 40 + static_cast<uint64_t>(bits), 10);
  }
}

TEST(Quantize, RestoresBitIdenticallyThroughTheRegistry) {
  const mc::Tensor a = gaussian(50, 20, 9);
  for (int bits : {1, 2, 7, 8}) {
    mc::Rng rng(2);
    auto c = mc::make_compressor("quantize", {{"bits", bits}})->compress(a, rng);
    std::map<std::string, mc::Tensor> factors;
    for (const auto& f : c->factors()) factors[f.name] = f.value.clone();
    const auto state = c->integer_state();
    EXPECT_EQ(state.at("codes").dtype, "|u1");
    auto r = mc::restore_compressed("quantize", c->settings(), factors, state);
    const mc::Tensor x = c->materialize(), y = r->materialize();
    ASSERT_EQ(x.shape(), y.shape());
    EXPECT_EQ(std::memcmp(x.data(), y.data(), sizeof(float) * static_cast<size_t>(x.numel())), 0) << bits;
    EXPECT_EQ(c->stored_bits(), r->stored_bits());
    EXPECT_EQ(c->factors()[0].lr_scale, r->factors()[0].lr_scale);
  }
}

TEST(Quantize, RatioPicksTheLargestBitsThatFit) {
  // 2304 x 384: b bits cost b / 32 + 2 / 2304 of dense.
  const auto bits_for = [](double ratio) {
    return mc::compressor_for_ratio("quantize", 2304, 384, ratio)->ratio_for(2304, 384);
  };
  EXPECT_DOUBLE_EQ(bits_for(0.25), (7.0 * 2304 * 384 + 64 * 384) / (32.0 * 2304 * 384));  // 8 bits are 0.25 + 2/2304
  EXPECT_DOUBLE_EQ(bits_for(0.1), (3.0 * 2304 * 384 + 64 * 384) / (32.0 * 2304 * 384));
  EXPECT_DOUBLE_EQ(bits_for(0.05), (1.0 * 2304 * 384 + 64 * 384) / (32.0 * 2304 * 384));
  EXPECT_DOUBLE_EQ(bits_for(0.9), (8.0 * 2304 * 384 + 64 * 384) / (32.0 * 2304 * 384));  // never above 8
  // The achieved ratio is what compress() stores.
  const mc::Tensor a = gaussian(64, 48, 3);
  for (double ratio : {0.07, 0.1, 0.3, 0.6}) {  // 1 bit needs 0.0625 here
    auto comp = mc::compressor_for_ratio("quantize", 64, 48, ratio);
    mc::Rng rng(5);
    const double achieved = static_cast<double>(comp->compress(a, rng)->stored_bits()) / (32.0 * 64 * 48);
    EXPECT_DOUBLE_EQ(comp->ratio_for(64, 48), achieved) << ratio;
    EXPECT_LE(achieved, ratio);
  }
}

TEST(Quantize, BadSettingsAreClearErrors) {
  EXPECT_NE(message_of([] { mc::make_compressor("quantize", {{"bits", 0}}); }).find("bits must be in 1..8, got 0"),
            std::string::npos);
  EXPECT_NE(message_of([] { mc::make_compressor("quantize", {{"bits", 9}}); }).find("bits must be in 1..8, got 9"),
            std::string::npos);
  EXPECT_NE(message_of([] { mc::make_compressor("quantize", {{"bits", 2.5}}); }).find("must be an integer"), std::string::npos);
  EXPECT_NE(message_of([] { mc::make_compressor("quantize", nlohmann::json::object()); }).find("missing required setting 'bits'"),
            std::string::npos);
  EXPECT_NE(message_of([] { mc::make_compressor("quantize", {{"bits", 4}, {"levels", 3}}); }).find("unknown setting 'levels'"),
            std::string::npos);
  EXPECT_NE(message_of([] { mc::make_compressor("quantize", {{"bits", 4}, {"iters", -1}}); }).find("iters"), std::string::npos);
  // 1 bit per entry is 1/32 of dense plus the scales: 0.02 is too small for any matrix.
  const std::string small = message_of([] { mc::compressor_for_ratio("quantize", 2304, 384, 0.02); });
  EXPECT_NE(small.find("ratio 0.02 is below what 1 bit per entry needs for 2304x384"), std::string::npos) << small;
  // A matrix too short for the scales to pay off (1 row: 8 + 64 bits per column > 32).
  mc::Rng rng(1);
  const std::string grow = message_of([&] { mc::make_compressor("quantize", {{"bits", 8}})->compress(gaussian(1, 30, 2), rng); });
  EXPECT_NE(grow.find("quantize"), std::string::npos) << grow;
  EXPECT_NE(grow.find("dense"), std::string::npos) << grow;
  // Non-finite input.
  mc::Tensor nan = gaussian(8, 8, 3);
  nan.data()[5] = std::nanf("");
  EXPECT_NE(message_of([&] { mc::make_compressor("quantize", {{"bits", 4}})->compress(nan, rng); }).find("quantize"),
            std::string::npos);
}

TEST(Quantize, CorruptCheckpointStateIsRefused) {
  auto c = quantize(gaussian(20, 6, 4), 3);
  std::map<std::string, mc::Tensor> factors;
  for (const auto& f : c->factors()) factors[f.name] = f.value.clone();
  auto state = c->integer_state();
  state.at("codes").bytes[7] = 8;  // 3 bits hold 0..7
  EXPECT_NE(message_of([&] { mc::restore_compressed("quantize", c->settings(), factors, state); }).find("code 8 at 7 outside 0..7"),
            std::string::npos);
  factors.erase("offset");
  EXPECT_NE(message_of([&] { mc::restore_compressed("quantize", c->settings(), factors, c->integer_state()); }).find("offset"),
            std::string::npos);
}
