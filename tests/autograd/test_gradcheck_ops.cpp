// Every autograd op through the one gradient-check harness, plus a planted bug that the
// harness must catch.
#include <gtest/gtest.h>

#include <cmath>

#include "matcomp/autograd/gradcheck.h"
#include "matcomp/autograd/node.h"
#include "matcomp/autograd/ops.h"
#include "matcomp/core/rng.h"

using mc::Tensor;
using mc::Var;

namespace {

Tensor randn(mc::Shape shape, uint64_t seed, float scale = 1.0f) {
  mc::Rng rng(seed);
  Tensor t = Tensor::empty(std::move(shape));
  rng.fill_normal(t, 0.0f, scale);
  return t;
}

Tensor positive(mc::Shape shape, uint64_t seed) {
  mc::Rng rng(seed);
  Tensor t = Tensor::empty(std::move(shape));
  rng.fill_uniform(t, 0.5f, 2.0f);
  return t;
}

void expect_gradients_match(const mc::GradcheckFunction& f, const std::vector<Tensor>& inputs) {
  const mc::GradcheckResult r = mc::gradcheck(f, inputs);
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_GT(r.checked, 0);
  EXPECT_GT(r.nonzero, 0);
}

}  // namespace

TEST(Gradcheck, Add) { expect_gradients_match([](auto& v) { return mc::add(v[0], v[1]); }, {randn({3, 4}, 1), randn({3, 4}, 2)}); }
TEST(Gradcheck, AddBroadcast) { expect_gradients_match([](auto& v) { return mc::add(v[0], v[1]); }, {randn({3, 4}, 1), randn({4}, 2)}); }
TEST(Gradcheck, SubBroadcast) { expect_gradients_match([](auto& v) { return mc::sub(v[0], v[1]); }, {randn({2, 1, 4}, 3), randn({3, 1}, 4)}); }
TEST(Gradcheck, MulBroadcast) { expect_gradients_match([](auto& v) { return mc::mul(v[0], v[1]); }, {randn({3, 4}, 5), randn({3, 1}, 6)}); }
TEST(Gradcheck, DivBroadcast) { expect_gradients_match([](auto& v) { return mc::div(v[0], v[1]); }, {randn({3, 4}, 7), positive({4}, 8)}); }
TEST(Gradcheck, Neg) { expect_gradients_match([](auto& v) { return mc::neg(v[0]); }, {randn({5}, 9)}); }
TEST(Gradcheck, Scale) { expect_gradients_match([](auto& v) { return mc::scale(v[0], -2.5f); }, {randn({5}, 10)}); }
TEST(Gradcheck, AddScalar) { expect_gradients_match([](auto& v) { return mc::add_scalar(v[0], 3.0f); }, {randn({5}, 11)}); }
TEST(Gradcheck, Relu) { expect_gradients_match([](auto& v) { return mc::relu(v[0]); }, {randn({6, 7}, 12)}); }
TEST(Gradcheck, Tanh) { expect_gradients_match([](auto& v) { return mc::tanh(v[0]); }, {randn({6, 7}, 13)}); }
TEST(Gradcheck, Sigmoid) { expect_gradients_match([](auto& v) { return mc::sigmoid(v[0]); }, {randn({6, 7}, 14)}); }
TEST(Gradcheck, Exp) { expect_gradients_match([](auto& v) { return mc::exp(v[0]); }, {randn({6, 7}, 15, 0.5f)}); }
TEST(Gradcheck, Log) { expect_gradients_match([](auto& v) { return mc::log(v[0]); }, {positive({6, 7}, 16)}); }
TEST(Gradcheck, SumAll) { expect_gradients_match([](auto& v) { return mc::sum(v[0]); }, {randn({3, 4}, 17)}); }
TEST(Gradcheck, MeanAll) { expect_gradients_match([](auto& v) { return mc::mean(v[0]); }, {randn({3, 4}, 18)}); }
TEST(Gradcheck, SumAxis) { expect_gradients_match([](auto& v) { return mc::sum(v[0], 1); }, {randn({3, 4, 2}, 19)}); }
TEST(Gradcheck, MeanAxisKeepdim) { expect_gradients_match([](auto& v) { return mc::mean(v[0], 0, true); }, {randn({3, 4}, 20)}); }
TEST(Gradcheck, Reshape) { expect_gradients_match([](auto& v) { return mc::tanh(mc::reshape(v[0], {4, 3})); }, {randn({3, 4}, 21)}); }
TEST(Gradcheck, Transpose) { expect_gradients_match([](auto& v) { return mc::transpose(v[0]); }, {randn({3, 5}, 22)}); }
TEST(Gradcheck, Slice) { expect_gradients_match([](auto& v) { return mc::slice(v[0], 1, 1, 3); }, {randn({3, 4, 2}, 23)}); }
TEST(Gradcheck, Concat) {
  expect_gradients_match([](auto& v) { return mc::concat({v[0], v[1]}, 1); }, {randn({3, 2}, 24), randn({3, 5}, 25)});
}
TEST(Gradcheck, Matmul) { expect_gradients_match([](auto& v) { return mc::matmul(v[0], v[1]); }, {randn({4, 3}, 26), randn({3, 5}, 27)}); }
TEST(Gradcheck, MatmulTransposedA) {
  expect_gradients_match([](auto& v) { return mc::matmul(v[0], v[1], true, false); }, {randn({3, 4}, 28), randn({3, 5}, 29)});
}
TEST(Gradcheck, MatmulTransposedB) {
  expect_gradients_match([](auto& v) { return mc::matmul(v[0], v[1], false, true); }, {randn({4, 3}, 30), randn({5, 3}, 31)});
}
TEST(Gradcheck, MatmulTransposedBoth) {
  expect_gradients_match([](auto& v) { return mc::matmul(v[0], v[1], true, true); }, {randn({3, 4}, 32), randn({5, 3}, 33)});
}
TEST(Gradcheck, SoftmaxCrossEntropy) {
  expect_gradients_match([](auto& v) { return mc::softmax_cross_entropy(v[0], {2, 0, 4, 1}); }, {randn({4, 5}, 34)});
}
TEST(Gradcheck, Embedding) {
  expect_gradients_match([](auto& v) { return mc::embedding(v[0], {3, 1, 3, 0}); }, {randn({5, 4}, 35)});
}

// A tanh whose backward forgets the square: d tanh = 1 - y instead of 1 - y^2.
Var planted_bug_tanh(const Var& x) {
  Tensor y = Tensor::empty(x.shape());
  for (int64_t i = 0; i < y.numel(); ++i) y.data()[i] = std::tanh(x.value().data()[i]);
  return mc::record("planted_bug_tanh", y, {x}, [saved = mc::SavedTensor(y, "planted_bug_tanh")](const mc::Grads& g, const mc::Needs&) {
    Tensor gx = Tensor::empty(g[0].shape());
    for (int64_t i = 0; i < gx.numel(); ++i) gx.data()[i] = g[0].data()[i] * (1.0f - saved.get().data()[i]);
    return mc::Grads{gx};
  });
}

TEST(Gradcheck, PlantedWrongBackwardIsCaught) {
  const mc::GradcheckResult r = mc::gradcheck([](auto& v) { return planted_bug_tanh(v[0]); }, {randn({4, 4}, 36)});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("analytic"), std::string::npos) << r.message;
}

TEST(Gradcheck, AllZeroGradientsAreNotAPass) {
  // A function whose output ignores its input: the analytic gradient is zero everywhere.
  const mc::GradcheckResult r =
      mc::gradcheck([](auto& v) { return mc::scale(v[0], 0.0f); }, {randn({3, 3}, 37)});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("no non-zero"), std::string::npos) << r.message;
}

TEST(Gradcheck, KinksAreSkippedNotFailed) {
  // relu exactly at 0 on half of the entries: those must be skipped, the rest checked.
  Tensor x = randn({4, 4}, 38);
  for (int64_t i = 0; i < 4; ++i) x.data()[i] = 0.0f;
  mc::GradcheckOptions opt;
  opt.entries_per_input = 16;
  const mc::GradcheckResult r = mc::gradcheck([](auto& v) { return mc::relu(v[0]); }, {x}, {}, opt);
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_GE(r.skipped, 4);
}
