// Export and load of whole models (format version 2): every registered method, a blend in
// progress, the PTB model, and refusal of corrupt or inconsistent files.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "matcomp/autograd/variable.h"
#include "matcomp/compression/apply_compression.h"
#include "matcomp/formats/export.h"
#include "matcomp/formats/model_file.h"
#include "matcomp/compression/registry.h"
#include "matcomp/core/atomic_file.h"
#include "matcomp/core/error.h"
#include "matcomp/layers/models/cifar10_cnn.h"
#include "matcomp/layers/models/ptb_lstm.h"
#include "tests/support/tiny_cnn.h"

namespace {

using matcomp_test::tiny_cnn;

mc::Tensor images(int64_t n, int64_t size, uint64_t seed) {
  mc::Tensor x = mc::Tensor::empty({n, 3, size, size});
  mc::Rng rng(seed);
  rng.fill_normal(x, 0, 1);
  return x;
}

mc::Tensor logits_of(mc::Module& model, const mc::Tensor& x) {
  mc::NoGradGuard no_grad;
  model.train(false);
  return dynamic_cast<mc::Cifar10Cnn&>(model).forward(mc::Var(x)).value();
}

void expect_identical(const mc::Tensor& a, const mc::Tensor& b, const std::string& what) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  for (int64_t i = 0; i < a.numel(); ++i) ASSERT_EQ(a.data()[i], b.data()[i]) << what << " entry " << i;
}

// A folder of this process's own: other test binaries write files of the same names.
std::string temp(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/matcomp_export_test_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  return dir + "/" + name;
}

TEST(Export, EveryRegisteredMethodReloadsFromTheFileAlone) {
  const mc::Tensor x = images(5, 8, 3);
  int tested = 0;
  for (const std::string& method : mc::registered_methods()) {
    try {
      mc::compressor_for_ratio(method, 24, 12, 0.3);
    } catch (const mc::ValueError&) {
      continue;  // a test's own method without a ratio rule (test_custom_compressor.cpp)
    }
    ++tested;
    mc::Rng rng(11);
    mc::Cifar10Cnn model(tiny_cnn(), rng);
    auto c = matcomp_test::compress_at_step_0(model, method, {"local3.weight", "local4.weight"});
    const std::string path = temp("export_" + method + ".mcz");
    const mc::ExportSize size = mc::export_model(path, model);
    EXPECT_GT(size.file_bytes, 0);
    const std::shared_ptr<mc::Module> loaded = mc::load_exported_model(path);
    ASSERT_EQ(loaded->type(), "Cifar10Cnn");
    EXPECT_TRUE(loaded->has_parameter("local3.bias"));
    // Bit for bit through the same products (the loader's fastest path: test_inference_path.cpp).
    mc::set_inference_path(*loaded, mc::InferencePath::Product);
    expect_identical(logits_of(model, x), logits_of(*loaded, x), method);
    // The table: both compressed weights under their method, their bits below 32.
    const mc::ExportedModelInfo info = mc::describe_exported_model(path);
    EXPECT_EQ(info.file_bytes, size.file_bytes);
    EXPECT_EQ(info.dense_float_bytes, size.dense_float_bytes);
    int compressed = 0;
    for (const mc::ExportedLayer& l : info.layers)
      if (l.method == method) {
        ++compressed;
        EXPECT_LT(l.bits_per_weight(), 32.0) << method << " " << l.name;
      }
    EXPECT_EQ(compressed, 2) << method;
  }
  EXPECT_GE(tested, 5);  // lowrank, simhash, kmeans, dictionary, prune at least
}

TEST(Export, ADenseModelAndABlendInProgressReload) {
  const mc::Tensor x = images(4, 8, 4);
  mc::Rng rng(12);
  mc::Cifar10Cnn dense(tiny_cnn(), rng);
  mc::export_model(temp("dense.mcz"), dense);
  expect_identical(logits_of(dense, x), logits_of(*mc::load_exported_model(temp("dense.mcz")), x), "dense");

  mc::Cifar10Cnn blending(tiny_cnn(), rng);
  auto c = matcomp_test::compress_at_step_0(blending, "lowrank", {"local3.weight"}, 10);  // alpha 0.9 after step 1
  ASSERT_TRUE(blending.has_parameter("local3.weight.A"));
  mc::export_model(temp("blend.mcz"), blending);
  const auto loaded = mc::load_exported_model(temp("blend.mcz"));
  EXPECT_TRUE(loaded->has_parameter("local3.weight.A"));
  expect_identical(logits_of(blending, x), logits_of(*loaded, x), "blend");
  for (const mc::ExportedLayer& l : mc::describe_exported_model(temp("blend.mcz")).layers)
    if (l.name == "local3.weight") {
      EXPECT_EQ(l.phase, "blend");
    }
}

TEST(Export, ThePtbModelReloads) {
  mc::PtbLstmConfig config;
  config.vocab = 30, config.hidden = 8, config.unroll = 3, config.batch = 2;
  mc::Rng rng(13);
  mc::PtbLstm model(config, rng);
  auto c = matcomp_test::compress_at_step_0(model, "kmeans", {"lstm.layer*.weight", "softmax.weight"});
  mc::export_model(temp("ptb.mcz"), model);
  auto loaded = std::dynamic_pointer_cast<mc::PtbLstm>(mc::load_exported_model(temp("ptb.mcz")));
  ASSERT_NE(loaded, nullptr);
  const std::vector<int32_t> ids = {1, 5, 29, 0, 7, 7};
  mc::NoGradGuard no_grad;
  model.train(false);
  mc::LstmState s1, s2;
  expect_identical(model.forward(ids, s1).value(), loaded->forward(ids, s2).value(), "ptb");
}

std::string load_error(const std::string& path) {
  try {
    mc::load_exported_model(path);
  } catch (const mc::IoError& e) {
    return e.what();
  }
  return "";
}

TEST(Export, AByteFlippedAnywhereInAModelFileIsRefused) {
  mc::Rng rng(14);
  mc::Cifar10CnnConfig config = tiny_cnn();
  config.conv_channels = 2, config.local3 = 8, config.local4 = 4;
  mc::Cifar10Cnn model(config, rng);
  auto c = matcomp_test::compress_at_step_0(model, "kmeans", {"local3.weight"});
  const std::string path = temp("flip.mcz");
  mc::export_model(path, model);
  const std::string good = mc::read_file(path);
  ASSERT_TRUE(load_error(path).empty());
  const std::string bad_path = temp("flipped.mcz");
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ (1 << (i % 8)));
    std::ofstream(bad_path, std::ios::binary | std::ios::trunc) << bad;  // no fsync: thousands of files
    const std::string message = load_error(bad_path);
    ASSERT_FALSE(message.empty()) << "byte " << i << " of " << good.size() << " flipped, the file still loaded";
    ASSERT_NE(message.find(bad_path), std::string::npos) << message;
  }
}

// A file whose CRC is right but whose contents disagree (a buggy or hostile writer).
std::string rewritten(const std::string& path, const std::function<void(mc::ModelFileContents&)>& edit) {
  mc::ModelFileContents c = mc::decode_model_file(mc::read_file(path), path);
  edit(c);
  const std::string out = temp("edited.mcz");
  mc::write_file_atomically(out, mc::encode_model_file(c));
  return load_error(out);
}

TEST(Export, InconsistentContentsAreRefusedWithTheirName) {
  mc::Rng rng(15);
  mc::Cifar10Cnn model(tiny_cnn(), rng);
  auto c = matcomp_test::compress_at_step_0(model, "kmeans", {"local3.weight"});
  const std::string path = temp("consistent.mcz");
  mc::export_model(path, model);
  // Codes array one shorter than the matrix needs.
  std::string e = rewritten(path, [](mc::ModelFileContents& f) {
    for (auto& [name, a] : f.integers)
      if (name == "local3.weight.codes") a.shape = {a.shape[0] - 1, a.shape[1]}, a.bytes.resize(a.bytes.size() - a.shape[1] * mc::npy_item_size(a.dtype));
  });
  EXPECT_NE(e.find("local3.weight"), std::string::npos) << e;
  // A factor of the wrong shape.
  e = rewritten(path, [](mc::ModelFileContents& f) {
    for (auto& [name, t] : f.floats)
      if (name == "local4.weight.A") t = mc::Tensor::zeros({3, 3});
  });
  EXPECT_NE(e.find("local4.weight.A"), std::string::npos) << e;
  // A stray tensor, an unknown method, an unknown model type.
  e = rewritten(path, [](mc::ModelFileContents& f) { f.floats.emplace_back("stray", mc::Tensor::zeros({2})); });
  EXPECT_NE(e.find("stray"), std::string::npos) << e;
  e = rewritten(path, [](mc::ModelFileContents& f) {
    for (auto& m : f.model["modules"])
      if (m["type"] == "CompressedWeight") m["config"]["method"] = "nosuch";
  });
  EXPECT_NE(e.find("nosuch"), std::string::npos) << e;
  e = rewritten(path, [](mc::ModelFileContents& f) { f.model["root"]["type"] = "Transformer"; });
  EXPECT_NE(e.find("Transformer"), std::string::npos) << e;
}

}  // namespace
