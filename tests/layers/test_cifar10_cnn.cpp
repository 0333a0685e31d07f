// The reference CIFAR-10 model: registry names, shapes, groups and initialisation; gradient
// checks of every parameter through the whole model; and a small end-to-end run that must
// overfit 256 generated images.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "matcomp/autograd/ops.h"
#include "matcomp/layers/models/cifar10_cnn.h"
#include "test_layers_util.h"

using namespace mc;
using mc::testing::randn;

namespace {

Cifar10CnnConfig tiny_config() {
  Cifar10CnnConfig c;
  c.image_size = 8;
  c.conv_channels = 6;
  c.local3 = 12;
  c.local4 = 8;
  return c;
}

// The images and every parameter of `model` (except those starting with `skip`) through the
// gradient-check harness; the harness's Vars stand in for the registry's during the check.
//
// The model is piecewise smooth (ReLU, max-pool): moving one kernel entry moves every
// pre-activation of its output channel, and a ReLU or pool winner that flips inside the
// stencil bends the finite difference without always being detected as a kink. Small steps,
// a tiny batch and (for the full-size model) leaving out conv1, whose entries each move
// 576 pre-activations per image around 0, keep such crossings out of the checked entries;
// the kernels themselves are checked exactly in test_conv2d / test_pool2d / test_lrn.
void check_model_gradients(Cifar10Cnn& model, const Tensor& images, int entries, const std::string& skip,
                           uint64_t seed) {
  std::vector<std::string> names;
  std::vector<Tensor> inputs{images};
  for (const auto& [name, var] : model.named_parameters()) {
    if (!skip.empty() && name.rfind(skip, 0) == 0) continue;
    names.push_back(name);
    inputs.push_back(var.value().clone());
  }
  GradcheckOptions opt;
  opt.entries_per_input = entries;
  opt.step = 1e-3;
  opt.seed = seed;
  const GradcheckResult r = gradcheck(
      [&](const std::vector<Var>& v) {
        for (size_t i = 0; i < names.size(); ++i) model.parameter(names[i]) = v[i + 1];
        return model.forward(v[0]);
      },
      inputs, {}, opt);
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_GE(r.checked, static_cast<int>(inputs.size()) * entries * 2 / 3);
  EXPECT_GT(r.nonzero, static_cast<int>(inputs.size()));
}

}  // namespace

TEST(Cifar10Cnn, RegistryNamesShapesAndGroups) {
  Rng rng(1);
  Cifar10Cnn model(rng);
  std::map<std::string, std::string> shapes;
  for (const auto& [name, var] : model.named_parameters()) shapes[name] = to_string(var.shape());
  const std::map<std::string, std::string> expected{
      {"conv1.weight.A", "[75, 64]"},     {"conv1.bias", "[64]"},  {"conv2.weight.A", "[1600, 64]"},
      {"conv2.bias", "[64]"},             {"local3.weight.A", "[2304, 384]"}, {"local3.bias", "[384]"},
      {"local4.weight.A", "[384, 192]"},  {"local4.bias", "[192]"}, {"softmax_linear.weight.A", "[192, 10]"},
      {"softmax_linear.bias", "[10]"}};
  EXPECT_EQ(shapes, expected);
  EXPECT_EQ(model.parameter_count(), 1068298);  // the PyTorch anchor's count
  for (const auto& [name, group] : model.named_parameter_groups()) {
    const bool decayed = name == "local3.weight.A" || name == "local4.weight.A";
    EXPECT_FLOAT_EQ(group.weight_decay, decayed ? 0.004f : 0.0f) << name;
  }
  for (const char* name : {"pool1", "norm1", "norm2", "pool2"}) EXPECT_NE(model.module(name), nullptr) << name;
}

// other_weight_decay reaches the conv and softmax kernels (not the biases) and survives the
// config's JSON round trip; the locals keep their own decay.
TEST(Cifar10Cnn, OtherWeightDecayReachesEveryOtherKernel) {
  Rng rng(1);
  Cifar10CnnConfig config;
  config.weight_decay = 0.002f, config.other_weight_decay = 5e-4f;
  Cifar10Cnn model(config, rng);
  for (const auto& [name, group] : model.named_parameter_groups()) {
    const bool local = name == "local3.weight.A" || name == "local4.weight.A";
    const bool other = name == "conv1.weight.A" || name == "conv2.weight.A" || name == "softmax_linear.weight.A";
    EXPECT_FLOAT_EQ(group.weight_decay, local ? 0.002f : other ? 5e-4f : 0.0f) << name;
  }
  const Cifar10CnnConfig back = model.config().get<Cifar10CnnConfig>();
  EXPECT_FLOAT_EQ(back.other_weight_decay, 5e-4f);
  EXPECT_FALSE(Cifar10Cnn(rng).config().contains("other_weight_decay"));  // the reference's files unchanged
}

TEST(Cifar10Cnn, InitialisationAsTheTutorial) {
  Rng rng(2);
  Cifar10Cnn model(rng);
  const auto stddev = [&](const std::string& name) {
    const Tensor& t = model.parameter(name).value();
    double s = 0, mx = 0;
    for (float v : t.span()) {
      s += static_cast<double>(v) * v;
      mx = std::max(mx, static_cast<double>(std::fabs(v)));
    }
    return std::pair{std::sqrt(s / static_cast<double>(t.numel())), mx};
  };
  // A normal truncated at 2 sigma has standard deviation 0.88 sigma.
  for (const auto& [name, sigma] : std::vector<std::pair<std::string, double>>{
           {"conv1.weight.A", 5e-2}, {"conv2.weight.A", 5e-2}, {"local3.weight.A", 0.04}, {"local4.weight.A", 0.04},
           {"softmax_linear.weight.A", 1.0 / 192}}) {
    const auto [sd, mx] = stddev(name);
    EXPECT_NEAR(sd, 0.88 * sigma, 0.1 * sigma) << name;
    EXPECT_LE(mx, 2 * sigma + 1e-7) << name;
  }
  for (const auto& [name, value] : std::vector<std::pair<std::string, float>>{
           {"conv1.bias", 0.0f}, {"conv2.bias", 0.1f}, {"local3.bias", 0.1f}, {"local4.bias", 0.1f}, {"softmax_linear.bias", 0.0f}})
    for (float v : model.parameter(name).value().span()) EXPECT_EQ(v, value) << name;
}

TEST(Cifar10Cnn, ForwardShapesAndBadInput) {
  Rng rng(3);
  Cifar10Cnn model(rng);
  EXPECT_EQ(to_string(model.forward(Var(randn({3, 3, 24, 24}, 4))).shape()), "[3, 10]");
  EXPECT_THROW(model.forward(Var(randn({3, 3, 32, 32}, 5))), ShapeError);
  EXPECT_THROW(model.forward(Var(randn({3, 24, 24, 3}, 5))), ShapeError);
}

TEST(Cifar10Cnn, GradcheckTinyConfigAllParameters) {
  Rng rng(6);
  Cifar10Cnn model(tiny_config(), rng);
  check_model_gradients(model, randn({2, 3, 8, 8}, 5), 3, "", 11);
}

TEST(Cifar10Cnn, GradcheckFullSizeModelOneImage) {
  Rng rng(6);
  Cifar10Cnn model(rng);
  check_model_gradients(model, randn({1, 3, 24, 24}, 7), 8, "conv1", 12);
}

// 256 images: each class is a fixed random pattern (seeded), each image that pattern plus as
// much noise again. The model must reach > 95 % training accuracy with plain SGD.
TEST(Cifar10Cnn, OverfitsGeneratedImages) {
  constexpr int64_t kImages = 256, kBatch = 32, kClasses = 10, kPixels = 3 * 24 * 24;
  Rng data_rng(8);
  Tensor patterns = Tensor::empty({kClasses, kPixels});
  data_rng.fill_normal(patterns, 0.0f, 1.0f);
  Tensor images = Tensor::empty({kImages, 3, 24, 24});
  std::vector<int32_t> labels(kImages);
  for (int64_t i = 0; i < kImages; ++i) {
    labels[static_cast<size_t>(i)] = static_cast<int32_t>(i % kClasses);
    for (int64_t p = 0; p < kPixels; ++p)
      images.data()[i * kPixels + p] = patterns.data()[(i % kClasses) * kPixels + p] + data_rng.normal();
  }
  Rng rng(9);
  Cifar10Cnn model(rng);
  const auto accuracy = [&] {
    NoGradGuard no_grad;
    const Tensor logits = model.forward(Var(images)).value();
    int correct = 0;
    for (int64_t i = 0; i < kImages; ++i) {
      const float* row = logits.data() + i * kClasses;
      correct += std::max_element(row, row + kClasses) - row == labels[static_cast<size_t>(i)];
    }
    return static_cast<double>(correct) / kImages;
  };
  const double before = accuracy();
  constexpr float kLr = 0.05f;
  double after = 0;
  for (int epoch = 0; epoch < 20 && after <= 0.95; ++epoch) {
    for (int64_t b0 = 0; b0 < kImages; b0 += kBatch) {
      std::vector<int32_t> y(labels.begin() + b0, labels.begin() + b0 + kBatch);
      Var loss = softmax_cross_entropy(model.forward(Var(images.rows(b0, b0 + kBatch))), y);
      model.zero_grad();
      loss.backward();
      for (auto& [name, p] : model.named_parameters()) {
        float* w = p.value().data();
        const float* g = p.grad().data();
        for (int64_t i = 0; i < p.numel(); ++i) w[i] -= kLr * g[i];
        p.value().mark_modified();
      }
    }
    after = accuracy();
  }
  EXPECT_LT(before, 0.5);
  EXPECT_GT(after, 0.95);
}
