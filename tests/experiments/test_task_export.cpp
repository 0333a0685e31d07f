// The sweep exports the weights its result.json scores: with a moving average in the recipe,
// the exported file holds the averaged weights, not the raw training ones, and the training
// weights come back afterwards (also when the export throws).
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <map>
#include <stdexcept>

#include "real_data.h"
#include "experiments/lib/cifar10_task.h"
#include "matcomp/formats/export.h"
#include "matcomp/layers/modules/module.h"

namespace fs = std::filesystem;

namespace {

std::map<std::string, mc::Tensor> copy_parameters(const mc::Module& model) {
  std::map<std::string, mc::Tensor> values;
  for (const auto& [name, p] : model.named_parameters()) values[name] = p.value().clone();
  return values;
}

float largest_difference(const std::map<std::string, mc::Tensor>& a, const std::map<std::string, mc::Tensor>& b) {
  float largest = 0;
  for (const auto& [name, t] : a) {
    const mc::Tensor& u = b.at(name);
    for (int64_t i = 0; i < t.numel(); ++i) largest = std::max(largest, std::abs(t.data()[i] - u.data()[i]));
  }
  return largest;
}

}  // namespace

TEST(TaskExport, TheExportedModelHoldsTheEvaluatedMovingAverage) {
  REQUIRE_DATA();
  // A fast average (0.5) so a few steps leave it far from the raw weights.
  mc::Cifar10Task task(matcomp_test::data_dir() + "/cifar10", {.batch = 16, .ema_decay = 0.5f, .eval_images = 32});
  task.init(7);
  for (int64_t step = 0; step < 4; ++step) task.train_step(step, nullptr);
  const auto raw = copy_parameters(task.model());

  const std::string path = (fs::temp_directory_path() / ("matcomp-task-export-" + std::to_string(::getpid()) + ".mcz")).string();
  std::map<std::string, mc::Tensor> averaged;
  task.with_evaluation_weights([&] {
    averaged = copy_parameters(task.model());
    mc::export_model(path, task.model());
  });
  ASSERT_GT(largest_difference(raw, averaged), 1e-4f) << "the moving average should differ from the raw weights";
  EXPECT_EQ(largest_difference(raw, copy_parameters(task.model())), 0.0f) << "training weights not restored";

  const auto loaded = mc::load_exported_model(path);
  EXPECT_EQ(largest_difference(averaged, copy_parameters(*loaded)), 0.0f) << "the file holds other weights";
  fs::remove(path);

  EXPECT_THROW(task.with_evaluation_weights([] { throw std::runtime_error("export failed"); }), std::runtime_error);
  EXPECT_EQ(largest_difference(raw, copy_parameters(task.model())), 0.0f) << "not restored after a throw";
}
