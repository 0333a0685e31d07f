// Optimizers, clipping, schedules and the EMA on hand-computed examples, and their state
// following the registry when the model's structure changes.
#include <gtest/gtest.h>

#include <cmath>

#include "matcomp/autograd/ops.h"
#include "matcomp/layers/optim/adam.h"
#include "matcomp/layers/modules/dense.h"
#include "matcomp/layers/optim/ema.h"
#include "matcomp/layers/optim/lr_schedule.h"
#include "matcomp/layers/optim/sgd.h"
#include "test_layers_util.h"

using namespace mc;

namespace {

class Params : public Module {
 public:
  explicit Params(std::vector<float> w) {
    const auto n = static_cast<int64_t>(w.size());
    register_parameter("w", Tensor::from({n}, std::move(w)));
  }
  std::string type() const override { return "Params"; }
  void set_grad(std::vector<float> g) {
    const auto n = static_cast<int64_t>(g.size());
    parameter("w").mutable_grad() = Tensor::from({n}, std::move(g));
  }
  float w(int i = 0) { return parameter("w").value().data()[i]; }
};

class Holder : public Module {
 public:
  Holder() { register_module("fc", std::make_shared<Dense>(Tensor::ones({2, 2}))); }
  std::string type() const override { return "Holder"; }
};

}  // namespace

TEST(Optim, SgdMomentumWeightDecayByHand) {
  Params m({1.0f});
  m.set_group("w", ParamGroup{0.1f, 1.0f});
  SGD opt(m, 0.1f, {.momentum = 0.9f});
  m.set_grad({0.5f});
  opt.step();  // g = 0.5 + 0.1 * 1 = 0.6; a = 0.6; w = 1 - 0.06
  EXPECT_NEAR(m.w(), 0.94f, 1e-6);
  m.set_grad({0.5f});
  opt.step();  // g = 0.5 + 0.094 = 0.594; a = 0.54 + 0.594 = 1.134; w = 0.94 - 0.1134
  EXPECT_NEAR(m.w(), 0.8266f, 1e-6);
  EXPECT_NEAR(opt.state().at("w").at("momentum").data()[0], 1.134f, 1e-6);
  EXPECT_EQ(opt.steps(), 2);
}

TEST(Optim, SgdPlainNesterovAndLrScale) {
  Params a({1.0f}), b({1.0f});
  b.set_group("w", ParamGroup{0.0f, 0.5f});
  SGD plain(b, 0.2f);
  b.set_grad({1.0f});
  plain.step();
  EXPECT_NEAR(b.w(), 0.9f, 1e-7);  // lr 0.2 * lr_scale 0.5
  EXPECT_TRUE(plain.state().empty());
  SGD nesterov(a, 0.1f, {.momentum = 0.9f, .nesterov = true});
  a.set_grad({0.6f});
  nesterov.step();  // a = 0.6; w = 1 - 0.1 * (0.6 + 0.54)
  EXPECT_NEAR(a.w(), 0.886f, 1e-6);
}

TEST(Optim, SkipsParametersWithoutGradient) {
  Params m({1.0f});
  SGD opt(m, 0.1f, {.momentum = 0.9f});
  opt.step();
  EXPECT_EQ(m.w(), 1.0f);
  EXPECT_TRUE(opt.state().empty());
}

TEST(Optim, AdamByHand) {
  Params m({1.0f});
  Adam opt(m, 0.1f);
  m.set_grad({0.5f});
  opt.step();  // m_hat = 0.5, v_hat = 0.25: update = 1
  EXPECT_NEAR(m.w(), 0.9f, 1e-6);
  m.set_grad({-1.0f});
  opt.step();  // m = -0.055, v = 0.00124975; m_hat = -0.2894737, v_hat = 0.6251876
  EXPECT_NEAR(m.w(), 0.9f + 0.1f * 0.2894737f / std::sqrt(0.6251876f), 1e-6);
  EXPECT_EQ(opt.state().at("w").at("step").item(), 2.0f);
}

TEST(Optim, AdamDecoupledWeightDecay) {
  Params m({2.0f});
  m.set_group("w", ParamGroup{0.5f, 1.0f});
  Adam opt(m, 0.1f, {.decoupled = true});
  m.set_grad({0.5f});
  opt.step();  // w -= 0.1 * (1 + 0.5 * 2)
  EXPECT_NEAR(m.w(), 1.8f, 1e-6);
}

TEST(Optim, StateDroppedWhenParameterReplacedOrRemoved) {
  Holder m;
  SGD opt(m, 0.1f, {.momentum = 0.9f});
  for (auto& [name, p] : m.named_parameters()) p.mutable_grad() = Tensor::ones(p.shape());
  opt.step();
  EXPECT_EQ(opt.state().count("fc.weight.A"), 1u);
  EXPECT_EQ(opt.state().count("fc.bias"), 1u);
  // Same name, new Var: the old momentum must not carry over.
  m.replace_module("fc.weight", std::make_shared<DenseWeight>(Tensor::ones({2, 2})));
  m.remove_parameter("fc.bias");
  for (auto& [name, p] : m.named_parameters()) p.mutable_grad() = Tensor::full(p.shape(), 2.0f);
  opt.step();
  EXPECT_EQ(opt.state().count("fc.bias"), 0u);
  ASSERT_EQ(opt.state().count("fc.weight.A"), 1u);
  EXPECT_EQ(opt.state().at("fc.weight.A").at("momentum").data()[0], 2.0f);  // fresh: 0 * 0.9 + 2
  EXPECT_NEAR(m.parameter("fc.weight.A").value().data()[0], 0.8f, 1e-6);
  // Explicit sync also works without a step.
  m.remove_parameter("fc.weight.A");
  opt.sync_with_model();
  EXPECT_TRUE(opt.state().empty());
}

TEST(Optim, ClipGradNorm) {
  Params m({0.0f, 0.0f});
  m.set_grad({3.0f, 4.0f});
  EXPECT_NEAR(clip_grad_norm(m, 10.0f), 5.0f, 1e-6);
  EXPECT_EQ(m.parameter("w").grad().data()[0], 3.0f);  // under the limit: untouched
  EXPECT_NEAR(clip_grad_norm(m, 1.0f), 5.0f, 1e-6);
  EXPECT_NEAR(m.parameter("w").grad().data()[0], 0.6f, 1e-6);
  EXPECT_NEAR(m.parameter("w").grad().data()[1], 0.8f, 1e-6);
  m.set_grad({NAN, 1.0f});
  try {
    clip_grad_norm(m, 1.0f);
    FAIL() << "no throw";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("'w'"), std::string::npos) << e.what();
  }
}

TEST(Optim, Schedules) {
  const StepDecay ptb{.base_lr = 1.0f, .step_size = 10, .gamma = 0.5f, .start = 30};
  EXPECT_EQ(ptb(0), 1.0f);
  EXPECT_EQ(ptb(39), 1.0f);
  EXPECT_EQ(ptb(40), 0.5f);
  EXPECT_EQ(ptb(55), 0.25f);
  const ExponentialDecay cifar{.base_lr = 0.1f, .decay_steps = 350, .decay_rate = 0.1f, .staircase = true};
  EXPECT_FLOAT_EQ(cifar(349), 0.1f);
  EXPECT_FLOAT_EQ(cifar(350), 0.01f);
  EXPECT_NEAR((ExponentialDecay{0.1f, 350, 0.1f, false}(175)), 0.1 * std::sqrt(0.1), 1e-7);
  const CosineDecay cos{.base_lr = 1.0f, .total_steps = 110, .warmup_steps = 10};
  EXPECT_FLOAT_EQ(cos(0), 0.1f);
  EXPECT_FLOAT_EQ(cos(9), 1.0f);
  EXPECT_FLOAT_EQ(cos(10), 1.0f);
  EXPECT_NEAR(cos(60), 0.5f, 1e-6);
  EXPECT_EQ(cos(110), 0.0f);
  EXPECT_THROW(StepDecay{.step_size = 0}(1), ValueError);
}

TEST(Optim, EmaNumUpdatesRuleApplyRestore) {
  Params m({1.0f});
  ExponentialMovingAverage ema(m, 0.9f);
  ema.update();  // first sight: shadow = value
  m.parameter("w").value().data()[0] = 3.0f;
  ema.update();  // decay = min(0.9, 2 / 11)
  const float d = 2.0f / 11.0f;
  EXPECT_NEAR(ema.shadow().at("w").data()[0], d * 1.0f + (1 - d) * 3.0f, 1e-6);
  ema.apply();
  EXPECT_NEAR(m.w(), d * 1.0f + (1 - d) * 3.0f, 1e-6);
  EXPECT_THROW(ema.apply(), Error);
  ema.restore();
  EXPECT_EQ(m.w(), 3.0f);
  // Late in training the configured decay wins: (1 + n) / (10 + n) > 0.9 once n > 80.
  ema.set_num_updates(1000);
  m.parameter("w").value().data()[0] = 4.0f;
  const float before = ema.shadow().at("w").data()[0];
  ema.update();
  EXPECT_NEAR(ema.shadow().at("w").data()[0], 0.9f * before + 0.1f * 4.0f, 1e-6);
}

TEST(Optim, EmaFollowsRegistry) {
  Holder m;
  ExponentialMovingAverage ema(m, 0.99f);
  ema.update();
  EXPECT_EQ(ema.shadow().size(), 2u);
  m.replace_module("fc.weight", std::make_shared<DenseWeight>(Tensor::full({2, 2}, 5.0f)));
  ema.update();  // the new Var's shadow restarts from its value
  EXPECT_EQ(ema.shadow().at("fc.weight.A").data()[0], 5.0f);
}
