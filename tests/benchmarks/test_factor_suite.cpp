// The BM_Factor suite of matcomp-bench (benchmarks/bench_factorizers.cpp) on a tiny filter,
// through scripts/factorizer_report.py: every registered method is in the table with a
// sane error, a stricter ratio does not lower lowrank's error, trained weights from
// MATCOMP_BENCH_WEIGHTS join the suite, and bad inputs are reported, not crashed on.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tests/support/run_command.h"
#include "matcomp/compression/registry.h"
#include "matcomp/core/npy.h"
#include "matcomp/core/rng.h"
#include "matcomp/formats/checkpoint.h"
#include "matcomp/layers/models/cifar10_cnn.h"

namespace fs = std::filesystem;

namespace {

using Result = matcomp_test::CommandResult;
Result run(const std::string& command) { return matcomp_test::run_command(command); }

const std::string kBench = std::string(MATCOMP_BINARY_DIR) + "/bin/matcomp-bench";
const std::string kReport = std::string(MATCOMP_SOURCE_DIR) + "/scripts/factorizer_report.py";

std::string scratch(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("matcomp_factor_suite_" + name + "_" + std::to_string(getpid()));
  fs::create_directories(dir);
  return dir.string();
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Skips the test (with the reason) where the build has no benchmark binary or no python3.
#define REQUIRE_BENCH_AND_PYTHON()                                                                    \
  do {                                                                                                \
    if (!kHaveBench) GTEST_SKIP() << "matcomp-bench is not built (MATCOMP_BUILD_BENCHMARKS=OFF)";    \
    if (kPython.empty()) GTEST_SKIP() << "no python3 found by CMake: the report script cannot run"; \
  } while (0)

#ifdef MATCOMP_HAVE_BENCH
constexpr bool kHaveBench = true;
#else
constexpr bool kHaveBench = false;
#endif
#ifdef MATCOMP_PYTHON3
const std::string kPython = MATCOMP_PYTHON3;
#else
const std::string kPython;
#endif

// Runs the suite on `filter` (one iteration per case) into dir/ours.json, then the report.
nlohmann::json suite_summary(const std::string& dir, const std::string& filter, const std::string& env = "") {
  const std::string json = dir + "/ours.json";
  const Result bench = run(env + " OMP_NUM_THREADS=2 " + kBench + " --benchmark_filter='" + filter +
                           "' --benchmark_min_time=0 --benchmark_out=" + json + " --benchmark_out_format=json");
  EXPECT_EQ(bench.code, 0) << bench.out;
  const Result report = run(kPython + " " + kReport + " " + json + " --markdown " + dir + "/table.md --summary " + dir +
                            "/summary.json --svg " + dir + "/plot");
  EXPECT_EQ(report.code, 0) << report.out;
  return nlohmann::json::parse(read_text(dir + "/summary.json"));
}

TEST(FactorSuite, EveryRegisteredMethodIsInTheTableWithASaneError) {
  REQUIRE_BENCH_AND_PYTHON();
  const std::string dir = scratch("methods");
  const nlohmann::json summary = suite_summary(dir, "^BM_Factor/[^/]+/384x192/r0\\.(5|25)/decay1/");
  const std::string table = read_text(dir + "/table.md");
  std::map<std::string, std::map<double, double>> error;  // method -> ratio -> rel_error
  for (const auto& row : summary.at("ours")) {
    ASSERT_FALSE(row.contains("error")) << row.dump();
    const double e = row.at("rel_error").get<double>();
    EXPECT_TRUE(std::isfinite(e) && e >= 0.0 && e <= 1.5) << row.dump();
    EXPECT_GT(row.at("stored_bytes").get<double>(), 0.0) << row.dump();
    EXPECT_LE(row.at("achieved_ratio").get<double>(), row.at("ratio").get<double>() + 1e-12) << row.dump();
    error[row.at("method").get<std::string>()][row.at("ratio").get<double>()] = e;
  }
  for (const std::string& method : mc::registered_methods()) {
    EXPECT_EQ(error[method].size(), 2u) << method << " should have a row at ratios 0.5 and 0.25";
    EXPECT_NE(table.find("| " + method + " | 0.5 | 384x192 | decay1 |"), std::string::npos) << method << "\n" << table;
    EXPECT_NE(table.find("| " + method + " | 0.25 | 384x192 | decay1 |"), std::string::npos) << method << "\n" << table;
  }
  // Fewer stored bytes cannot buy a lower error for the optimal rank-k approximation.
  ASSERT_EQ(error["lowrank"].size(), 2u);
  EXPECT_GE(error["lowrank"][0.25], error["lowrank"][0.5]);
  EXPECT_TRUE(fs::exists(dir + "/plot-error.svg"));
  EXPECT_TRUE(fs::exists(dir + "/plot-time.svg"));
}

TEST(FactorSuite, TrainedWeightsFromAFolderOfNpyJoinTheSuite) {
  REQUIRE_BENCH_AND_PYTHON();
  const std::string dir = scratch("trained");
  const std::string weights = dir + "/weights";
  fs::create_directories(weights);
  mc::Tensor w = mc::Tensor::empty({48, 32});
  mc::Rng rng(5);
  rng.fill_normal(w, 0.0f, 0.1f);
  mc::write_npy(weights + "/fc.weight.npy", w);
  mc::write_npy(weights + "/fc.bias.npy", mc::Tensor::zeros({32}));  // 1-D: not a matrix, ignored
  const std::string env = "MATCOMP_BENCH_WEIGHTS=" + weights;
  const Result list = run(env + " " + kBench + " --benchmark_list_tests=true --benchmark_filter=trained");
  ASSERT_EQ(list.code, 0) << list.out;
  EXPECT_NE(list.out.find("BM_Factor/lowrank/48x32/r0.5/trained:fc.weight"), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find("fc.bias"), std::string::npos) << list.out;
  const nlohmann::json summary = suite_summary(dir, "^BM_Factor/(lowrank|kmeans)/48x32/r0\\.25/trained", env);
  ASSERT_EQ(summary.at("ours").size(), 2u) << summary.dump();
  for (const auto& row : summary.at("ours")) {
    EXPECT_EQ(row.at("matrix"), "trained:fc.weight");
    EXPECT_LT(row.at("rel_error").get<double>(), 1.0) << row.dump();
  }
}

TEST(FactorSuite, TrainedWeightsFromACheckpointAreTheDenseLayersMatrices) {
  REQUIRE_BENCH_AND_PYTHON();
  const std::string dir = scratch("checkpoint");
  mc::Cifar10CnnConfig config;
  config.image_size = 8, config.conv_channels = 4, config.local3 = 24, config.local4 = 12;
  mc::Rng rng(21);
  mc::Cifar10Cnn model(config, rng);
  const std::string ckpt = dir + "/at-begin.safetensors";
  mc::save_checkpoint(ckpt, model, nullptr, 0, nullptr, nullptr);
  const Result list = run("MATCOMP_BENCH_WEIGHTS=" + ckpt + " " + kBench + " --benchmark_list_tests=true --benchmark_filter=trained");
  ASSERT_EQ(list.code, 0) << list.out;
  // local3 (flattened features, 24) and local4 (24, 12); the conv kernels are stored as
  // (5 * 5 * in channels, out channels) matrices; biases are no matrices.
  EXPECT_NE(list.out.find("/r0.5/trained:local3.weight"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("BM_Factor/lowrank/24x12/r0.5/trained:local4.weight"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("BM_Factor/lowrank/75x4/r0.5/trained:conv1.weight"), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find("bias"), std::string::npos) << list.out;
}

TEST(FactorSuite, AMissingWeightsPathIsOneSkippedCaseThatSaysWhy) {
  REQUIRE_BENCH_AND_PYTHON();
  const std::string dir = scratch("missing");
  const nlohmann::json summary =
      suite_summary(dir, "^BM_Factor/trained", "MATCOMP_BENCH_WEIGHTS=" + dir + "/no_such_checkpoint.safetensors");
  ASSERT_EQ(summary.at("ours").size(), 1u) << summary.dump();
  const std::string why = summary.at("ours")[0].value("error", "");
  EXPECT_NE(why.find("MATCOMP_BENCH_WEIGHTS"), std::string::npos) << why;
  EXPECT_NE(why.find("not found"), std::string::npos) << why;
}

TEST(FactorSuite, TheReportRefusesFilesThatAreNotSuiteResults) {
  REQUIRE_BENCH_AND_PYTHON();
  const std::string dir = scratch("bad");
  std::ofstream(dir + "/not_json.json") << "this is not JSON";
  std::ofstream(dir + "/no_cases.json") << R"({"context": {}, "benchmarks": [{"name": "BM_Sgemm/64", "real_time": 1}]})";
  Result r = run(kPython + " " + kReport + " " + dir + "/not_json.json");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("is not JSON"), std::string::npos) << r.out;
  r = run(kPython + " " + kReport + " " + dir + "/no_cases.json");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("no BM_Factor case"), std::string::npos) << r.out;
  r = run(kPython + " " + kReport + " " + dir + "/absent.json");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("cannot read"), std::string::npos) << r.out;
}

}  // namespace
