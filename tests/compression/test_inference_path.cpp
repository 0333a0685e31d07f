// Inference of a loaded model on its fastest path: methods whose own product is slower than a
// dense sgemm multiply with a dense matrix formed once; the logits equal the own products'
// to rounding, the extra memory is counted, and training the loaded model never multiplies
// with a stale dense matrix.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "matcomp/autograd/ops.h"
#include "matcomp/autograd/variable.h"
#include "matcomp/compression/apply_compression.h"
#include "matcomp/compression/compressed_weight.h"
#include "matcomp/formats/export.h"
#include "matcomp/compression/registry.h"
#include "matcomp/core/error.h"
#include "matcomp/layers/models/cifar10_cnn.h"
#include "tests/support/tiny_cnn.h"

namespace {

// The tiny CNN with local3 and local4 compressed by `method` at ratio 0.3, exported and
// loaded back; "" when the method has no ratio rule (a test's own method).
std::string exported_model(const std::string& method) {
  try {
    mc::compressor_for_ratio(method, 24, 12, 0.3);
  } catch (const mc::ValueError&) {
    return "";
  }
  mc::Rng rng(11);
  mc::Cifar10Cnn model(matcomp_test::tiny_cnn(), rng);
  auto c = matcomp_test::compress_at_step_0(model, method, {"local3.weight", "local4.weight"});
  const std::string path = ::testing::TempDir() + "/matcomp_inference_" + std::to_string(getpid()) + "_" + method + ".mcz";
  mc::export_model(path, model);
  return path;
}

mc::Tensor logits_of(mc::Module& model, const mc::Tensor& x) {
  mc::NoGradGuard no_grad;
  return dynamic_cast<mc::Cifar10Cnn&>(model).forward(mc::Var(x)).value();
}

double largest_relative_difference(const mc::Tensor& a, const mc::Tensor& b) {
  double largest = 0, scale = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    largest = std::max(largest, static_cast<double>(std::abs(a.data()[i] - b.data()[i])));
    scale = std::max(scale, static_cast<double>(std::abs(b.data()[i])));
  }
  return largest / scale;
}

std::shared_ptr<mc::CompressedWeight> local3(mc::Module& model) {
  return std::dynamic_pointer_cast<mc::CompressedWeight>(model.module("local3.weight"));
}

mc::Tensor images(uint64_t seed) {
  mc::Tensor x = mc::Tensor::empty({5, 3, 8, 8});
  mc::Rng rng(seed);
  rng.fill_normal(x, 0, 1);
  return x;
}

}  // namespace

TEST(InferencePath, TheFastestPathMatchesTheOwnProductsAndCountsItsMemory) {
  const mc::Tensor x = images(3);
  int dense_paths = 0, product_paths = 0;
  for (const std::string& method : mc::registered_methods()) {
    const std::string path = exported_model(method);
    if (path.empty()) continue;
    const std::shared_ptr<mc::Module> model = mc::load_exported_model(path);
    const auto w = local3(*model);
    ASSERT_TRUE(w) << method;
    EXPECT_EQ(w->inference_path(), mc::InferencePath::Fastest) << method << ": the loader's default";
    const bool through_dense = !w->matrix()->product_beats_dense();
    EXPECT_EQ(w->infers_through_dense(), through_dense) << method;
    (through_dense ? dense_paths : product_paths) += 1;
    const mc::Tensor fastest = logits_of(*model, x);
    mc::set_inference_path(*model, mc::InferencePath::Product);
    const mc::Tensor product = logits_of(*model, x);
    EXPECT_LT(largest_relative_difference(fastest, product), 1e-5) << method;
    EXPECT_EQ(w->inference_resident_bytes(mc::InferencePath::Product), w->matrix()->resident_bytes()) << method << ": product path holds the factors";

    const mc::ExportedModelInfo info = mc::describe_exported_model(path);
    const int64_t both_dense = 4 * (16 * 24 + 24 * 12);  // local3 and local4 as dense floats
    EXPECT_EQ(info.fastest_resident_bytes - info.resident_bytes, through_dense ? both_dense : 0) << method;
    std::filesystem::remove(path);
  }
  EXPECT_GE(dense_paths, 1);
  EXPECT_GE(product_paths, 1);  // lowrank
}

// A loaded k-means model trained further: the kept dense matrix must not outlive a change of
// its factors, whether through an optimizer-like edit after a forward with gradients or a
// switch to training mode.
TEST(InferencePath, TrainingTheLoadedModelNeverUsesAStaleDenseMatrix) {
  const std::string path = exported_model("kmeans");
  const std::shared_ptr<mc::Module> model = mc::load_exported_model(path);
  auto& cnn = dynamic_cast<mc::Cifar10Cnn&>(*model);
  const auto w = local3(*model);
  ASSERT_TRUE(w->infers_through_dense());
  const mc::Tensor x = images(4);
  const mc::Tensor before = logits_of(*model, x);  // forms the dense matrix

  // A forward with gradients (a training step would follow), then the codebook moves.
  model->train(true);
  mc::Var loss = mc::sum(cnn.forward(mc::Var(x)));
  model->train(false);
  mc::Tensor codebook = model->parameter("local3.weight.codebook").value();
  for (float& v : codebook.span()) v *= 1.5f;
  const mc::Tensor after = logits_of(*model, x);
  mc::set_inference_path(*model, mc::InferencePath::Product);
  const mc::Tensor truth = logits_of(*model, x);
  EXPECT_LT(largest_relative_difference(after, truth), 1e-5);
  EXPECT_GT(largest_relative_difference(before, truth), 1e-3) << "the edit should change the logits";
  std::filesystem::remove(path);
}
