// The Module registry: dotted names, replace_module, remove_parameter, groups.
#include <gtest/gtest.h>

#include "matcomp/autograd/ops.h"
#include "matcomp/layers/modules/dense.h"
#include "matcomp/layers/modules/lstm.h"
#include "test_layers_util.h"

using namespace mc;
using mc::testing::randn;

namespace {

class TwoLayer : public Module {
 public:
  TwoLayer() {
    register_module("fc1", std::make_shared<Dense>(randn({3, 4}, 1)));
    register_module("fc2", std::make_shared<Dense>(randn({4, 2}, 2)));
  }
  std::string type() const override { return "TwoLayer"; }
  Var forward(const Var& x) { return child<Dense>("fc2")->forward(tanh(child<Dense>("fc1")->forward(x))); }
};

// A weight seam that computes x A as (x A1) A2 with A = A1 A2: what compression will plug in.
class TwoFactorWeight : public Weight {
 public:
  TwoFactorWeight(Tensor a1, Tensor a2) {
    register_parameter("U", std::move(a1));
    register_parameter("V", std::move(a2));
  }
  std::string type() const override { return "TwoFactorWeight"; }
  int64_t rows() const override { return const_cast<TwoFactorWeight*>(this)->own_parameter("U").shape()[0]; }
  int64_t cols() const override { return const_cast<TwoFactorWeight*>(this)->own_parameter("V").shape()[1]; }
  Var multiply(const Var& x) override { return matmul(matmul(x, own_parameter("U")), own_parameter("V")); }
  Var dense() override { return matmul(own_parameter("U"), own_parameter("V")); }
};

}  // namespace

TEST(Module, DottedNamesInRegistrationOrder) {
  TwoLayer m;
  std::vector<std::string> names;
  for (auto& [name, p] : m.named_parameters()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"fc1.bias", "fc1.weight.A", "fc2.bias", "fc2.weight.A"}));
  EXPECT_EQ(m.parameter("fc2.weight.A").shape(), (Shape{4, 2}));
  EXPECT_EQ(m.parameter_count(), 3 * 4 + 4 + 4 * 2 + 2);
  EXPECT_THROW(m.parameter("fc3.bias"), Error);
  EXPECT_TRUE(m.module("fc1.weight") != nullptr);
}

TEST(Module, ReplaceModuleKeepsForwardWorkingAndBumpsGeneration) {
  TwoLayer m;
  const Tensor x = randn({5, 3}, 3);
  const Tensor before = m.forward(Var(x)).value().clone();
  const uint64_t g0 = m.generation();
  // Replace fc1's weight by an exact two-factor form: A = A * I.
  const Tensor a = m.parameter("fc1.weight.A").value().clone();
  Tensor eye = Tensor::zeros({4, 4});
  for (int i = 0; i < 4; ++i) eye.data()[i * 5] = 1.0f;
  m.replace_module("fc1.weight", std::make_shared<TwoFactorWeight>(a, eye));
  EXPECT_GT(m.generation(), g0);
  EXPECT_FALSE(m.has_parameter("fc1.weight.A"));
  EXPECT_TRUE(m.has_parameter("fc1.weight.U"));
  EXPECT_LT(mc::testing::max_abs_diff(m.forward(Var(x)).value(), before), 1e-6f);
  // Gradients reach the new factors.
  sum(m.forward(Var(x))).backward();
  EXPECT_TRUE(m.parameter("fc1.weight.U").grad().defined());
}

TEST(Module, RemoveParameterAndGroups) {
  TwoLayer m;
  const uint64_t g0 = m.generation();
  m.remove_parameter("fc2.bias");
  EXPECT_GT(m.generation(), g0);
  EXPECT_FALSE(m.has_parameter("fc2.bias"));
  EXPECT_THROW(m.remove_parameter("fc2.bias"), Error);
  m.set_group("fc1.weight.A", ParamGroup{0.004f, 2.0f});
  for (auto& [name, g] : m.named_parameter_groups()) {
    EXPECT_EQ(g.weight_decay, name == "fc1.weight.A" ? 0.004f : 0.0f) << name;
    EXPECT_EQ(g.lr_scale, name == "fc1.weight.A" ? 2.0f : 1.0f) << name;
  }
}

TEST(Module, TrainFlagPropagates) {
  Rng rng(1);
  LSTM lstm(2, 3, 2, 0.1f, rng, 0.0f, 0.5f, &rng);
  lstm.train(false);
  for (auto& [name, m] : lstm.named_modules()) EXPECT_FALSE(m->is_training()) << name;
  EXPECT_TRUE(lstm.module("dropout") != nullptr);
}
