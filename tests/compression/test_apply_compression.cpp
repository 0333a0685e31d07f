// The operator on a live model: a small network trained on a generated task is factored
// mid-training by each method; the model, its registry and its gradients follow.
#include <gtest/gtest.h>

#include <cmath>

#include "matcomp/autograd/ops.h"
#include "matcomp/compression/apply_compression.h"
#include "matcomp/formats/export.h"
#include "matcomp/core/blas.h"
#include "matcomp/core/error.h"
#include "matcomp/layers/modules/dense.h"
#include "matcomp/formats/checkpoint.h"
#include "matcomp/layers/modules/init.h"
#include "matcomp/layers/optim/sgd.h"

using mc::Tensor;
using mc::Var;

namespace {

// A 2-hidden-layer MLP on a generated 4-class task whose labels come from a random teacher.
class Net : public mc::Module {
 public:
  explicit Net(mc::Rng& rng) {
    register_module("fc1", std::make_shared<mc::Dense>(mc::glorot_uniform(16, 48, rng)));
    register_module("fc2", std::make_shared<mc::Dense>(mc::glorot_uniform(48, 48, rng)));
    register_module("out", std::make_shared<mc::Dense>(mc::glorot_uniform(48, 4, rng)));
  }
  std::string type() const override { return "Net"; }
  Var forward(const Var& x) {
    Var h = mc::relu(child<mc::Dense>("fc1")->forward(x));
    h = mc::relu(child<mc::Dense>("fc2")->forward(h));
    return child<mc::Dense>("out")->forward(h);
  }
};

struct Task {
  Tensor x;
  std::vector<int32_t> y;
};

Task make_task(uint64_t seed) {
  mc::Rng rng(seed);
  Task t{Tensor::empty({256, 16}), std::vector<int32_t>(256)};
  rng.fill_normal(t.x, 0, 1);
  Tensor teacher = Tensor::empty({16, 4});
  rng.fill_normal(teacher, 0, 1);
  Tensor logits = mc::matmul(t.x, teacher);
  for (int64_t i = 0; i < 256; ++i) {
    const float* r = logits.data() + 4 * i;
    t.y[static_cast<size_t>(i)] = static_cast<int32_t>(std::max_element(r, r + 4) - r);
  }
  return t;
}

// Plain SGD over the registry, as an optimizer would walk it every step.
float sgd_step(Net& net, const Task& task, float lr) {
  Var loss = mc::softmax_cross_entropy(net.forward(Var(task.x)), task.y);
  net.zero_grad();
  loss.backward();
  for (auto& [name, p] : net.named_parameters()) {
    if (!p.grad().defined()) continue;
    float* w = p.value().data();
    const float* g = p.grad().data();
    for (int64_t i = 0; i < p.numel(); ++i) w[i] -= lr * g[i];
    p.value().mark_modified();
  }
  return loss.value().item();
}

struct MethodCase {
  const char* method;
  double ratio;
};

}  // namespace

class ApplyCompression : public ::testing::TestWithParam<MethodCase> {};

TEST_P(ApplyCompression, MutatesMidTrainingAndKeepsLearning) {
  const MethodCase c = GetParam();
  mc::Rng rng(7);
  Net net(rng);
  const Task task = make_task(3);
  mc::CompressionSpec spec;
  spec.include = {"fc*.weight"};
  spec.compressor = mc::by_ratio(c.method, c.ratio);
  const bool prune = std::string(c.method) == "prune";
  if (prune) spec.pruning = mc::SparsitySchedule{100, 160, 10, 0.0, -1.0};  // final: the compressor's
  else spec.schedule = mc::BlendSchedule{100, -1, 10, 0.25};
  auto compression = mc::apply_compression(net, spec, 11);
  compression->on_event = nullptr;
  EXPECT_EQ(compression->selected(), (std::vector<std::string>{"fc1.weight", "fc2.weight"}));

  std::vector<float> losses;
  for (int64_t step = 0; step < 300; ++step) {
    compression->before_step(step);
    losses.push_back(sgd_step(net, task, 0.1f));
    compression->after_backward(step);
    compression->after_optimizer_step(step);
    ASSERT_TRUE(std::isfinite(losses.back())) << "step " << step;
    if (step == 105 && !prune) {
      // During the blend A and the factors both train.
      EXPECT_TRUE(net.has_parameter("fc1.weight.A"));
      EXPECT_TRUE(net.parameter("fc1.weight.A").grad().defined());
    }
  }
  // After the switch A is gone from the registry; only the trainable factors remain.
  EXPECT_FALSE(net.has_parameter("fc1.weight.A"));
  EXPECT_FALSE(net.has_parameter("fc2.weight.A"));
  auto weight = std::dynamic_pointer_cast<mc::CompressedWeight>(net.module("fc1.weight"));
  ASSERT_NE(weight, nullptr);
  EXPECT_EQ(weight->phase(), mc::Phase::Factored);
  for (const mc::Factor& f : weight->matrix()->factors()) {
    const std::string name = "fc1.weight." + f.name;
    EXPECT_EQ(net.has_parameter(name), f.trainable) << name;
    if (f.trainable) {
      EXPECT_TRUE(net.parameter(name).grad().defined()) << name;
    }
  }
  // Loss keeps falling after the switch, and ends below where the compression began.
  const float at_switch = losses[200], end = losses.back();
  EXPECT_LT(end, at_switch) << c.method;
  EXPECT_LT(end, losses[0]);
  // Bytes drop by the reported ratio.
  const nlohmann::json report = compression->report_json();
  const double ratio = report["selected_ratio"].get<double>();
  EXPECT_LE(ratio, c.ratio + 1e-9) << report.dump();
  EXPECT_GT(ratio, 0.0);
  int64_t stored = 0;
  for (const auto& l : report["layers"]) stored += l["stored_bytes"].get<int64_t>();
  EXPECT_EQ(stored, report["selected_stored_bytes"].get<int64_t>());
  EXPECT_EQ(report["selected_dense_bytes"].get<int64_t>(), 4 * (16 * 48 + 48 * 48));
}

INSTANTIATE_TEST_SUITE_P(Methods, ApplyCompression,
                         ::testing::Values(MethodCase{"lowrank", 0.5}, MethodCase{"simhash", 0.5}, MethodCase{"kmeans", 0.25},
                                           MethodCase{"dictionary", 0.6}, MethodCase{"prune", 0.5},
                                           MethodCase{"quantize", 0.25}),
                         [](const auto& info) { return std::string(info.param.method); });

TEST(ApplyCompressionErrors, NoMatchingWeightIsAnErrorNotASilentNoOp) {
  mc::Rng rng(1);
  Net net(rng);
  mc::CompressionSpec spec;
  spec.include = {"conv*.weight"};
  spec.compressor = mc::by_ratio("lowrank", 0.5);
  try {
    mc::apply_compression(net, spec, 1);
    FAIL();
  } catch (const mc::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("fc1.weight"), std::string::npos) << e.what();
  }
}

TEST(ApplyCompressionErrors, ExclusionsApply) {
  mc::Rng rng(1);
  Net net(rng);
  mc::CompressionSpec spec;
  spec.include = {"*.weight"};
  spec.exclude = {"out.*"};
  spec.compressor = mc::by_ratio("lowrank", 0.5);
  auto c = mc::apply_compression(net, spec, 1);
  EXPECT_EQ(c->selected(), (std::vector<std::string>{"fc1.weight", "fc2.weight"}));
}

// A user-defined compressor, written here: keep the sign of every entry and one trainable
// scale per column (1 bit per entry + 32 per column).
namespace {
class SignMatrix final : public mc::CompressedMatrix {
 public:
  SignMatrix(std::vector<int8_t> signs, Tensor scale, int64_t m) : signs_(std::move(signs)), scale_(std::move(scale)), m_(m) {}
  std::string method() const override { return "sign"; }
  int64_t rows() const override { return m_; }
  int64_t cols() const override { return scale_.numel(); }
  std::vector<mc::Factor> factors() const override { return {{"scale", scale_, true}}; }
  nlohmann::json settings() const override { return nlohmann::json::object(); }
  Tensor materialize() const override {
    Tensor a = Tensor::empty({rows(), cols()});
    for (int64_t i = 0; i < a.numel(); ++i) a.data()[i] = signs_[static_cast<size_t>(i)] * scale_.data()[i % cols()];
    return a;
  }
  void materialize_backward(const Tensor& d, std::vector<Tensor>& grads) const override {
    if (!grads[0].defined()) grads[0] = Tensor::zeros({cols()});
    for (int64_t i = 0; i < d.numel(); ++i) grads[0].data()[i % cols()] += d.data()[i] * signs_[static_cast<size_t>(i)];
  }
  int64_t stored_bits() const override { return rows() * cols() + 32 * cols(); }

 private:
  std::vector<int8_t> signs_;
  Tensor scale_;
  int64_t m_;
};

class SignCompressor final : public mc::MatrixCompressor {
 public:
  std::string method() const override { return "sign"; }
  std::unique_ptr<mc::CompressedMatrix> compress(const Tensor& a, mc::Rng&) const override {
    const int64_t m = a.size(0), n = a.size(1);
    std::vector<int8_t> signs(static_cast<size_t>(m * n));
    Tensor scale = Tensor::zeros({n});
    for (int64_t i = 0; i < m * n; ++i) {
      signs[static_cast<size_t>(i)] = a.data()[i] >= 0 ? 1 : -1;
      scale.data()[i % n] += std::fabs(a.data()[i]) / static_cast<float>(m);
    }
    return std::make_unique<SignMatrix>(std::move(signs), scale, m);
  }
  double ratio_for(int64_t m, int64_t n) const override { return (m * n + 32.0 * n) / (32.0 * m * n); }
};
}  // namespace

TEST(ApplyCompressionCustom, UserWrittenCompressorWorksEndToEnd) {
  mc::Rng rng(5);
  Net net(rng);
  const Task task = make_task(3);
  mc::CompressionSpec spec;
  spec.include = {"fc2.weight"};
  spec.compressor = mc::with(std::make_shared<SignCompressor>());
  spec.schedule = mc::BlendSchedule::immediate(50);
  auto compression = mc::apply_compression(net, spec, 1);
  compression->on_event = nullptr;
  float after_switch = 0, last = 0;
  for (int64_t step = 0; step < 200; ++step) {
    compression->before_step(step);
    last = sgd_step(net, task, 0.1f);
    compression->after_optimizer_step(step);
    if (step == 50) after_switch = last;
  }
  EXPECT_TRUE(net.has_parameter("fc2.weight.scale"));
  EXPECT_FALSE(net.has_parameter("fc2.weight.A"));
  EXPECT_LT(last, after_switch);
  EXPECT_EQ(compression->report()[0].stored_bytes, (48 * 48 + 32 * 48) / 8);
}

TEST(ExportCompressed, SmallOnDiskAndReloadsForInference) {
  for (const char* method : {"kmeans", "prune", "prune_grad", "lowrank", "quantize"}) {
    mc::Rng rng(9);
    Net net(rng);
    const Task task = make_task(4);
    mc::CompressionSpec spec;
    spec.include = {"fc*.weight"};
    const bool prune = std::string(method).rfind("prune", 0) == 0;
    spec.compressor = mc::by_ratio(prune ? "prune" : method, 0.25);
    if (std::string(method) == "prune_grad") spec.score = mc::PruningScore::Kind::Gradient;
    if (prune) spec.pruning = mc::SparsitySchedule{10, 20, 5, 0.0, 0.75};
    else spec.schedule = mc::BlendSchedule::immediate(10);
    auto compression = mc::apply_compression(net, spec, 2);
    compression->on_event = nullptr;
    for (int64_t step = 0; step < 40; ++step) {
      compression->before_step(step);
      sgd_step(net, task, 0.05f);
      compression->after_backward(step);
      compression->after_optimizer_step(step);
    }
    const std::string path = ::testing::TempDir() + "/export_" + method + ".mcz";
    const mc::ExportSize size = mc::export_model(path, net);
    EXPECT_LT(size.file_bytes, size.dense_float_bytes / 2) << method;

    mc::Rng fresh_rng(123);  // different initial values: everything must come from the file
    Net fresh(fresh_rng);  // uncompressed: the structure comes from the file too
    mc::load_exported_model(path, fresh);
    mc::NoGradGuard no_grad;
    const Tensor a = net.forward(Var(task.x)).value();
    const Tensor b = fresh.forward(Var(task.x)).value();
    for (int64_t i = 0; i < a.numel(); ++i) ASSERT_EQ(a.data()[i], b.data()[i]) << method << " entry " << i;
  }
}

// Exact resume: an uninterrupted run against one saved at `save_step` (during the blend, or
// after the switch) and resumed in a fresh model, controller and optimizer. SGD with momentum,
// so the optimizer state of the factors has to survive too.
namespace {
struct Trainer {
  mc::Rng rng;
  Net net;
  mc::SGD opt;
  std::unique_ptr<mc::CompressionController> compression;
  Trainer(uint64_t init_seed, const mc::CompressionSpec& spec)
      : rng(init_seed), net(rng), opt(net, 0.05f, mc::SgdOptions{.momentum = 0.9f}) {
    compression = mc::apply_compression(net, spec, 17);
    compression->on_event = nullptr;
  }
  float step(int64_t step, const Task& task) {
    compression->before_step(step);
    Var loss = mc::softmax_cross_entropy(net.forward(Var(task.x)), task.y);
    net.zero_grad();
    loss.backward();
    compression->after_backward(step);
    opt.step();
    compression->after_optimizer_step(step);
    return loss.value().item();
  }
};

mc::CompressionSpec resume_spec(const std::string& method) {
  mc::CompressionSpec spec;
  if (method == "mixed") {
    // A method per layer: low rank, k-means, and a pruned output layer (gradient scores).
    spec.rules = {{{"fc1.weight"}, {}, mc::by_ratio("lowrank", 0.5), ""},
                  {{"fc2.weight"}, {}, mc::by_ratio("kmeans", 0.25), ""},
                  {{"out.weight"}, {}, mc::by_ratio("prune", 0.5), ""}};
    spec.schedule = mc::BlendSchedule{20, -1, 10, 0.25};
    spec.pruning = mc::SparsitySchedule{20, 60, 10, 0.0, -1.0};
    spec.score = mc::PruningScore::Kind::Gradient;
    return spec;
  }
  spec.include = {"fc*.weight"};
  if (method == "prune") {
    spec.compressor = mc::by_ratio("prune", 0.5);
    spec.pruning = mc::SparsitySchedule{20, 60, 10, 0.0, -1.0};
  } else if (method == "prune_grad") {
    spec.compressor = mc::by_ratio("prune", 0.5);
    spec.pruning = mc::SparsitySchedule{20, 60, 10, 0.0, -1.0};
    spec.score = mc::PruningScore::Kind::Gradient;
  } else {
    spec.compressor = mc::by_ratio(method, method == "kmeans" ? 0.25 : 0.5);
    spec.schedule = mc::BlendSchedule{20, -1, 10, 0.25};  // blend over steps 20..50
  }
  return spec;
}
}  // namespace

class ExactResume : public ::testing::TestWithParam<std::tuple<const char*, int64_t>> {};

TEST_P(ExactResume, NextLossesMatchAnUninterruptedRunBitForBit) {
  const std::string method = std::get<0>(GetParam());
  const int64_t save_step = std::get<1>(GetParam());
  const Task task = make_task(5);
  const mc::CompressionSpec spec = resume_spec(method);
  Trainer a(3, spec);
  std::vector<float> expected;
  const std::string path = ::testing::TempDir() + "/resume_" + method + "_" + std::to_string(save_step) + ".safetensors";
  for (int64_t s = 0; s < save_step + 10; ++s) {
    if (s == save_step)
      mc::save_checkpoint(path, a.net, &a.opt, s, &a.rng, nullptr);
    const float loss = a.step(s, task);
    if (s >= save_step) expected.push_back(loss);
  }
  Trainer b(99, spec);  // other initial values: all of them must come from the checkpoint
  // The checkpoint path knows nothing of compression: the file alone rebuilds the structure.
  mc::apply_checkpoint(mc::read_checkpoint(path), b.net, &b.opt, &b.rng, nullptr);
  for (int64_t s = save_step; s < save_step + 10; ++s)  // crosses a blend update or mask update
    ASSERT_EQ(b.step(s, task), expected[static_cast<size_t>(s - save_step)]) << method << " resumed at " << save_step << ", step " << s;
}

INSTANTIATE_TEST_SUITE_P(DuringBlendAndAfterSwitch, ExactResume,
                         ::testing::Combine(::testing::Values("lowrank", "simhash", "kmeans", "dictionary", "prune", "prune_grad", "quantize", "mixed"),
                                            ::testing::Values(int64_t{15}, int64_t{35}, int64_t{70})),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param)) + "_at_" + std::to_string(std::get<1>(info.param));
                         });

TEST(ApplyCompressionOptimizer, HoldsNoStateForAAfterTheSwitch) {
  const Task task = make_task(6);
  Trainer t(4, resume_spec("lowrank"));
  for (int64_t s = 0; s < 30; ++s) t.step(s, task);
  EXPECT_TRUE(t.opt.state().count("fc1.weight.A"));  // momentum for A during the blend
  std::weak_ptr<mc::VariableImpl> a_impl = t.net.parameter("fc1.weight.A").impl();
  for (int64_t s = 30; s < 60; ++s) t.step(s, task);
  EXPECT_FALSE(t.opt.state().count("fc1.weight.A"));
  EXPECT_FALSE(t.opt.state().count("fc2.weight.A"));
  EXPECT_TRUE(t.opt.state().count("out.weight.A"));  // not selected: untouched
  EXPECT_TRUE(t.opt.state().count("fc1.weight.B"));
  EXPECT_TRUE(a_impl.expired()) << "A's memory is still held after the switch";
}

// One spec mixing methods per layer: each layer follows its method's policy, the report names
// each method, and the exported file alone rebuilds the mixed model in an uncompressed one.
TEST(MixedMethods, EachLayerItsOwnMethodAndPolicyThroughExport) {
  const Task task = make_task(8);
  Trainer t(6, resume_spec("mixed"));
  EXPECT_EQ(t.compression->policies(), (std::vector<std::string>{"blend", "blend", "prune"}));
  for (int64_t s = 0; s < 70; ++s) t.step(s, task);
  const auto report = t.compression->report();
  ASSERT_EQ(report.size(), 3u);
  EXPECT_EQ(report[0].method, "lowrank");
  EXPECT_EQ(report[1].method, "kmeans");
  EXPECT_EQ(report[2].method, "prune");
  for (const auto& r : report) EXPECT_EQ(r.phase, "factored") << r.name;
  EXPECT_TRUE(t.net.has_module("out.weight.score")) << "gradient scores live in the pruned layer's seam";

  const std::string path = ::testing::TempDir() + "/export_mixed.mcz";
  mc::export_model(path, t.net);
  mc::Rng other(1234);
  Net fresh(other);
  mc::load_exported_model(path, fresh);
  EXPECT_FALSE(fresh.has_module("out.weight.score")) << "training-only state stays out of the export";
  mc::NoGradGuard no_grad;
  const Tensor a = t.net.forward(Var(task.x)).value();
  const Tensor b = fresh.forward(Var(task.x)).value();
  for (int64_t i = 0; i < a.numel(); ++i) ASSERT_EQ(a.data()[i], b.data()[i]) << "entry " << i;
}

TEST(MixedMethods, ARuleThatSelectsNothingOrAPruneLayerWithoutScheduleIsAnError) {
  mc::Rng rng(2);
  Net net(rng);
  mc::CompressionSpec spec;
  spec.rules = {{{"fc1.weight"}, {}, mc::by_ratio("lowrank", 0.5), ""}, {{"fc9.weight"}, {}, mc::by_ratio("kmeans", 0.25), ""}};
  EXPECT_THROW(mc::apply_compression(net, spec, 1), mc::ValueError);
  spec.rules = {{{"fc1.weight"}, {}, mc::by_ratio("lowrank", 0.5), ""}, {{"fc2.weight"}, {}, mc::by_ratio("prune", 0.5), ""}};
  try {
    mc::apply_compression(net, spec, 1);
    FAIL() << "expected ValueError";
  } catch (const mc::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("sparsity schedule"), std::string::npos) << e.what();
  }
  spec.rules[1].policy = "no-such-policy";
  EXPECT_THROW(mc::apply_compression(net, spec, 1), mc::ValueError);
}
