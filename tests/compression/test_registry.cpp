#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>

#include "matcomp/compression/methods/kmeans.h"
#include "matcomp/compression/registry.h"
#include "matcomp/compression/util.h"
#include "matcomp/core/error.h"
#include "helpers.h"

using mc_test::gaussian;

namespace {

const std::vector<std::pair<std::string, nlohmann::json>> kSettings = {
    {"lowrank", {{"rank", 4}}},
    {"simhash", {{"bits", 16}}},
    {"kmeans", {{"levels", 8}}},
    {"kmeans", {{"levels", 8}, {"block", 2}}},
    {"dictionary", {{"atoms", 10}, {"nnz", 3}, {"iters", 3}}},
    {"prune", {{"sparsity", 0.75}}},
    {"quantize", {{"bits", 3}}},
};

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const mc::ValueError& e) {
    return e.what();
  }
  return "<no ValueError>";
}

}  // namespace

TEST(Registry, RestoredMatrixMaterializesBitIdentically) {
  const mc::Tensor a = gaussian(40, 24, 1);
  for (const auto& [method, settings] : kSettings) {
    mc::Rng rng(3);
    auto c = mc::make_compressor(method, settings)->compress(a, rng);
    std::map<std::string, mc::Tensor> factors;
    for (const auto& f : c->factors()) factors[f.name] = f.value.clone();
    auto r = mc::restore_compressed(c->method(), c->settings(), factors, c->integer_state());
    const mc::Tensor x = c->materialize(), y = r->materialize();
    ASSERT_EQ(x.shape(), y.shape()) << method;
    EXPECT_EQ(std::memcmp(x.data(), y.data(), sizeof(float) * x.numel()), 0) << method;
    EXPECT_EQ(c->stored_bits(), r->stored_bits()) << method;
    EXPECT_EQ(c->settings(), r->settings()) << method;
  }
}

TEST(Registry, EveryMethodGradientsThroughTheRegistry) {
  const mc::Tensor a = gaussian(20, 12, 2);
  for (const auto& [method, settings] : kSettings) {
    mc::Rng rng(4);
    auto c = mc::make_compressor(method, settings)->compress(a, rng);
    mc_test::check_method(*c, 21, 5);
  }
}

TEST(Registry, RatioForMatchesStoredBits) {
  const mc::Tensor a = gaussian(64, 48, 3);
  for (const std::string method : {"lowrank", "simhash", "kmeans", "dictionary", "prune", "quantize"}) {
    for (double ratio : {0.1, 0.3, 0.6}) {
      auto comp = mc::compressor_for_ratio(method, 64, 48, ratio, method == "dictionary" ? nlohmann::json{{"iters", 2}} : nlohmann::json{});
      mc::Rng rng(5);
      auto c = comp->compress(a, rng);
      const double achieved = static_cast<double>(c->stored_bits()) / (32.0 * 64 * 48);
      EXPECT_DOUBLE_EQ(comp->ratio_for(64, 48), achieved) << method << " " << ratio;
      EXPECT_LE(achieved, ratio) << method;
    }
  }
}

TEST(Registry, RatioPicksTheLargestSetting) {
  // lowrank: k (m + n) <= r m n -> k = floor(0.25 * 2304 * 384 / 2688) = 82.
  auto lr = mc::compressor_for_ratio("lowrank", 2304, 384, 0.25);
  EXPECT_NEAR(lr->ratio_for(2304, 384), 82.0 * 2688 / (2304.0 * 384), 1e-12);
  // kmeans scalar at 0.25 of 512x512: 8-bit codes alone are 0.25, so 7 bits: 128 levels.
  auto km = mc::compressor_for_ratio("kmeans", 512, 512, 0.25);
  EXPECT_EQ(mc::kmeans_stored_bits(512, 512, 128, 1), static_cast<int64_t>(std::llround(km->ratio_for(512, 512) * 32 * 512 * 512)));
  // prune at 0.5 of 10x10 (1600 bits): bitmap 100 + 32 k <= 1600 -> k = 46.
  auto pr = mc::compressor_for_ratio("prune", 10, 10, 0.5);
  EXPECT_DOUBLE_EQ(pr->ratio_for(10, 10), (100 + 32 * 46) / 3200.0);
}

// k-means by ratio picks its block: the largest of 1, 2, 4 whose level count stays below the
// 256 cap. 64x128 at 0.05 (13107 bits): block 1 fits 2 levels, block 2 fits 8, block 4 fits
// 22 (2048 codes of 5 bits + 22 x 4 floats = 12576 bits); a given block is kept.
TEST(Registry, KMeansRatioChoosesTheBlock) {
  const auto settings_at = [](double ratio, const nlohmann::json& options) {
    mc::Rng rng(1);
    return mc::compressor_for_ratio("kmeans", 64, 128, ratio, options)->compress(mc_test::gaussian(64, 128, 2), rng)->settings();
  };
  const nlohmann::json low = settings_at(0.05, {});
  EXPECT_EQ(low["block"], 4) << low.dump();
  EXPECT_EQ(low["levels"], 22) << low.dump();
  EXPECT_EQ(settings_at(0.05, {{"block", 1}})["levels"], 2);
  EXPECT_EQ(settings_at(0.5, {})["block"], 1);  // every block reaches the cap: scalar
}

TEST(Registry, RejectsBadInputWithMessagesNamingTheProblem) {
  const mc::Tensor a = gaussian(10, 8, 1);
  mc::Rng rng(0);
  EXPECT_NE(message_of([] { mc::make_compressor("svd", {}); }).find("unknown compression method 'svd'"), std::string::npos);
  EXPECT_NE(message_of([] { mc::make_compressor("lowrank", {}); }).find("missing required setting 'rank'"), std::string::npos);
  EXPECT_NE(message_of([] { mc::make_compressor("lowrank", {{"rank", 0}}); }).find("rank must be at least 1"), std::string::npos);
  EXPECT_NE(message_of([] { mc::make_compressor("lowrank", {{"rnak", 2}}); }).find("unknown setting 'rnak'"), std::string::npos);
  EXPECT_NE(message_of([] { mc::make_compressor("lowrank", {{"rank", "two"}}); }).find("must be an integer"), std::string::npos);
  EXPECT_NE(message_of([] { mc::make_compressor("kmeans", {{"levels", 1}}); }).find("levels must be at least 2"), std::string::npos);
  EXPECT_NE(message_of([] { mc::make_compressor("dictionary", {{"atoms", 3}, {"nnz", 4}}); }).find("exceeds the number of atoms"),
            std::string::npos);
  EXPECT_NE(message_of([] { mc::make_compressor("prune", {{"sparsity", 1.0}}); }).find("outside [0, 1)"), std::string::npos);
  EXPECT_NE(message_of([] { mc::make_compressor("simhash", {{"bits", 0}}); }).find("bits must be at least 1"), std::string::npos);
  EXPECT_NE(message_of([&] { mc::make_compressor("lowrank", {{"rank", 5}})->compress(a, rng); }).find("m n / (m + n)"), std::string::npos);
  EXPECT_NE(message_of([] { mc::compressor_for_ratio("lowrank", 10, 8, 1.5); }).find("must be in (0, 1)"), std::string::npos);
  EXPECT_NE(message_of([] { mc::compressor_for_ratio("lowrank", 1000, 1000, 1e-5); }).find("below what rank 1 needs"), std::string::npos);
  for (const auto& [method, settings] : kSettings) {
    mc::Tensor bad = gaussian(40, 24, 2);
    bad.data()[17] = INFINITY;
    EXPECT_NE(message_of([&] { mc::make_compressor(method, settings)->compress(bad, rng); }).find("non-finite"), std::string::npos) << method;
    EXPECT_NE(message_of([&] { mc::make_compressor(method, settings)->compress(mc::Tensor::zeros({0, 24}), rng); }).find("empty"),
              std::string::npos)
        << method;
  }
  EXPECT_NE(message_of([] { mc::restore_compressed("lowrank", nlohmann::json::object(), {}, {}); }).find("' is missing"), std::string::npos)
      << message_of([] { mc::restore_compressed("lowrank", nlohmann::json::object(), {}, {}); });
}

// The methods table of docs/COMPRESSION.md lists exactly the registered methods (the docs'
// own "ternary" example, registered by test_custom_compressor.cpp in this binary, aside).
TEST(Registry, DocsMethodTableMatchesTheRegistry) {
  std::ifstream in(std::string(MATCOMP_SOURCE_DIR) + "/docs/COMPRESSION.md");
  ASSERT_TRUE(in) << "docs/COMPRESSION.md not found";
  std::string line;
  bool in_section = false;
  std::set<std::string> documented;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) in_section = line == "## The methods";
    if (!in_section || line.rfind("| `", 0) != 0) continue;
    const size_t end = line.find('`', 3);
    documented.insert(line.substr(3, end - 3));
  }
  std::set<std::string> registered;
  for (const std::string& m : mc::registered_methods())
    if (m != "ternary") registered.insert(m);
  EXPECT_FALSE(documented.empty());
  EXPECT_EQ(documented, registered) << "update the table under \"## The methods\" in docs/COMPRESSION.md";
  for (const std::string& m : registered) EXPECT_FALSE(mc::policy_for_method(m).empty()) << m;
}
