// matcomp-model (info | eval | predict) and scripts/mcz_reader.py against the library.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tests/support/run_command.h"
#include "tests/support/tiny_cnn.h"
#include "matcomp/autograd/variable.h"
#include "matcomp/compression/apply_compression.h"
#include "matcomp/formats/export.h"
#include "matcomp/compression/registry.h"
#include "matcomp/core/error.h"
#include "matcomp/core/npy.h"
#include "matcomp/core/rng.h"
#include "matcomp/layers/models/cifar10_cnn.h"

namespace fs = std::filesystem;

namespace {

using Result = matcomp_test::CommandResult;
Result run(const std::string& command) { return matcomp_test::run_command(command); }

const std::string kTool = std::string(MATCOMP_BINARY_DIR) + "/bin/matcomp-model";

std::string scratch() {
  const fs::path dir = fs::path(::testing::TempDir()) / ("matcomp_model_cli_" + std::to_string(getpid()));
  fs::create_directories(dir);
  return dir.string();
}

// A small CIFAR-style model (8x8 images) with local3 and local4 compressed by `method`.
std::string tiny_model(const std::string& method, const std::string& dir) {
  mc::Rng rng(21);
  mc::Cifar10Cnn model(matcomp_test::tiny_cnn(), rng);
  if (method != "dense") matcomp_test::compress_at_step_0(model, method, {"local3.weight", "local4.weight"});
  const std::string path = dir + "/" + method + ".mcz";
  mc::export_model(path, model);
  return path;
}

std::string tiny_images(const std::string& dir) {
  mc::Tensor x = mc::Tensor::empty({6, 3, 8, 8});
  mc::Rng rng(22);
  rng.fill_normal(x, 0, 1);
  const std::string path = dir + "/images.npy";
  mc::write_npy(path, x);
  return path;
}

TEST(ModelCli, UsageVersionAndHelp) {
  EXPECT_EQ(run(kTool).code, 2);
  EXPECT_EQ(run(kTool + " info").code, 2);
  EXPECT_EQ(run(kTool + " info /no/such/file.mcz").code, 2);
  EXPECT_EQ(run(kTool + " frobnicate x").code, 2);
  const Result version = run(kTool + " --version");
  EXPECT_EQ(version.code, 0);
  EXPECT_NE(version.out.find("matcomp-model matcomp "), std::string::npos) << version.out;
  const Result help = run(kTool + " eval --help");
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("128"), std::string::npos) << help.out;  // the default batch is shown
}

TEST(ModelCli, InfoPrintsTheTableAndRefusesACorruptFile) {
  const std::string dir = scratch();
  const std::string path = tiny_model("kmeans", dir);
  const Result r = run(kTool + " info " + path);
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* needle : {"local3.weight", "kmeans", "conv1.bias", "file bytes", "resident bytes, fastest inference", "resident bytes, own products", "own product", "bits/weight"})
    EXPECT_NE(r.out.find(needle), std::string::npos) << needle << "\n" << r.out;
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  bytes[bytes.size() / 2] ^= 0x10;
  std::ofstream(dir + "/bad.mcz", std::ios::binary) << bytes;
  const Result bad = run(kTool + " info " + dir + "/bad.mcz");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("checksum"), std::string::npos) << bad.out;
}

TEST(ModelCli, PredictWritesTheLibrarysLogits) {
  const std::string dir = scratch();
  const std::string path = tiny_model("lowrank", dir), images = tiny_images(dir);
  const Result r = run(kTool + " predict " + path + " --input " + images + " --output " + dir + "/logits.npy");
  ASSERT_EQ(r.code, 0) << r.out;
  const mc::Tensor got = mc::read_npy(dir + "/logits.npy");
  auto model = mc::load_exported_model(path);
  mc::NoGradGuard no_grad;
  const mc::Tensor want = dynamic_cast<mc::Cifar10Cnn&>(*model).forward(mc::Var(mc::read_npy(images))).value();
  ASSERT_EQ(got.shape(), want.shape());
  for (int64_t i = 0; i < got.numel(); ++i) EXPECT_EQ(got.data()[i], want.data()[i]);
  // Images of the wrong size: a run-time error naming the shapes.
  mc::write_npy(dir + "/wrong.npy", mc::Tensor::zeros({2, 3, 9, 9}));
  const Result wrong = run(kTool + " predict " + path + " --input " + dir + "/wrong.npy");
  EXPECT_EQ(wrong.code, 1);
  EXPECT_NE(wrong.out.find("(N, 3, 8, 8)"), std::string::npos) << wrong.out;
}

// The Python reader (numpy only) rebuilds every method's W and matches matcomp's logits.
TEST(ModelCli, PythonReaderMatchesTheLogits) {
#ifndef MATCOMP_PYTHON_NUMPY
  GTEST_SKIP() << "python3 with numpy was not found when configuring: the Python reader is not tested";
#else
  const std::string dir = scratch(), images = tiny_images(dir);
  int tested = 0;
  for (const std::string& method : mc::registered_methods()) {
    try {
      mc::compressor_for_ratio(method, 24, 12, 0.3);
    } catch (const mc::ValueError&) {
      continue;
    }
    ++tested;
    const std::string path = tiny_model(method, dir);
    ASSERT_EQ(run(kTool + " predict " + path + " --input " + images + " --output " + dir + "/c.npy").code, 0);
    const Result py = run(std::string(MATCOMP_PYTHON_NUMPY) + " " + MATCOMP_SOURCE_DIR + "/scripts/mcz_reader.py " + path +
                       " --input " + images + " --output " + dir + "/py.npy");
    ASSERT_EQ(py.code, 0) << method << ": " << py.out;
    const mc::Tensor a = mc::read_npy(dir + "/c.npy"), b = mc::read_npy(dir + "/py.npy");
    ASSERT_EQ(a.shape(), b.shape());
    for (int64_t i = 0; i < a.numel(); ++i) EXPECT_NEAR(a.data()[i], b.data()[i], 1e-4) << method << " logit " << i;
    // A flipped byte is refused by the reader too.
    std::string bytes;
    {
      std::ifstream in(path, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    bytes[40] ^= 1;
    std::ofstream(dir + "/bad.mcz", std::ios::binary) << bytes;
    const Result bad = run(std::string(MATCOMP_PYTHON_NUMPY) + " " + MATCOMP_SOURCE_DIR + "/scripts/mcz_reader.py " + dir + "/bad.mcz");
    EXPECT_EQ(bad.code, 1);
    EXPECT_NE(bad.out.find("checksum"), std::string::npos) << bad.out;
  }
  EXPECT_GE(tested, 5);
#endif
}

// On the smoke preset's exported low-rank branch, eval prints the accuracy of result.json.
TEST(ModelCli, EvalMatchesTheSweepsResult) {
  const char* data = std::getenv("MATCOMP_DATA");
  if (!data || !fs::exists(fs::path(data) / "cifar10"))
    GTEST_SKIP() << "MATCOMP_DATA does not hold cifar10/: the CIFAR-10 evaluation is not tested";
  const std::string out = scratch() + "/smoke";
  const Result sweep = run(std::string(MATCOMP_BINARY_DIR) + "/bin/cifar10-compare --data " + data +
                        " --preset smoke --only lowrank --ratios 0.25 --out " + out);
  ASSERT_EQ(sweep.code, 0) << sweep.out;
  int checked = 0;
  for (const auto& branch : fs::directory_iterator(out + "/branches")) {
    const fs::path model = branch.path() / "model.mcz", result = branch.path() / "result.json";
    if (!fs::exists(model) || !fs::exists(result)) continue;
    const nlohmann::json j = nlohmann::json::parse(std::ifstream(result));
    // The smoke preset evaluates the first 256 test images.
    const Result eval = run(kTool + " eval " + model.string() + " --data " + data + " --limit 256");
    ASSERT_EQ(eval.code, 0) << eval.out;
    double accuracy = -1;
    ASSERT_EQ(std::sscanf(eval.out.c_str(), "accuracy %lf", &accuracy), 1) << eval.out;
    EXPECT_NEAR(accuracy, j.at("accuracy").get<double>(), 1e-6) << branch.path();
    ++checked;
  }
  EXPECT_GE(checked, 2);  // the baseline and the low-rank branch
}

}  // namespace
