#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "matcomp/autograd/broadcast.h"
#include "matcomp/autograd/node.h"
#include "matcomp/autograd/ops.h"
#include "matcomp/core/error.h"

using mc::Tensor;
using mc::Var;

TEST(Engine, GradientsAccumulateAcrossBackwardCalls) {
  Var x(Tensor::from({2}, {1, 2}), true);
  mc::sum(mc::scale(x, 3.0f)).backward();
  mc::sum(mc::scale(x, 3.0f)).backward();
  EXPECT_FLOAT_EQ(x.grad().data()[0], 6.0f);
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
}

TEST(Engine, DiamondGraphSumsBothPaths) {
  // y = x*x + x: dy/dx = 2x + 1, reached through two paths.
  Var x(Tensor::from({1}, {3}), true);
  Var y = mc::add(mc::mul(x, x), x);
  mc::sum(y).backward();
  EXPECT_FLOAT_EQ(x.grad().data()[0], 7.0f);
}

TEST(Engine, GraphIsReleasedAfterBackward) {
  Var x(Tensor::from({1}, {3}), true);
  Var loss = mc::sum(mc::tanh(x));
  loss.backward();
  EXPECT_THROW(loss.backward(), mc::Error);
}

TEST(Engine, NoGradRecordsNothing) {
  Var x(Tensor::from({1}, {3}), true);
  Var y;
  {
    mc::NoGradGuard guard;
    y = mc::tanh(x);
  }
  EXPECT_TRUE(y.is_leaf());
  EXPECT_FALSE(y.requires_grad());
  Var z = mc::tanh(x);
  EXPECT_FALSE(z.is_leaf());
}

TEST(Engine, InPlaceChangeOfASavedTensorIsRefused) {
  Var x(Tensor::from({2}, {0.5f, -0.25f}), true);
  Var y = mc::tanh(x);  // saves its output
  Var loss = mc::sum(y);
  y.value().fill(0.0f);  // writes into the saved tensor
  try {
    loss.backward();
    FAIL() << "backward through a modified saved tensor must throw";
  } catch (const mc::Error& e) {
    EXPECT_NE(std::string(e.what()).find("modified in place"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("tanh"), std::string::npos) << e.what();
  }
}

TEST(Engine, MultiOutputNodeRoutesEachGradient) {
  Var x(Tensor::from({2}, {1, 2}), true);
  // Two outputs: 2x and 3x; only the second is used.
  auto outs = mc::record_multi("twice_thrice", {Tensor::from({2}, {2, 4}), Tensor::from({2}, {3, 6})}, {x},
                               [](const mc::Grads& g, const mc::Needs&) {
                                 Tensor gx = Tensor::zeros({2});
                                 for (int k = 0; k < 2; ++k)
                                   if (g[static_cast<size_t>(k)].defined())
                                     for (int i = 0; i < 2; ++i) gx.data()[i] += (k + 2.0f) * g[static_cast<size_t>(k)].data()[i];
                                 return mc::Grads{gx};
                               });
  mc::sum(outs[1]).backward();
  EXPECT_FLOAT_EQ(x.grad().data()[0], 3.0f);
}

TEST(Engine, NonScalarBackwardNeedsASeed) {
  Var x(Tensor::from({2}, {1, 2}), true);
  Var y = mc::scale(x, 2.0f);
  EXPECT_THROW(y.backward(), mc::ShapeError);
  y.backward(Tensor::from({2}, {1, 10}));
  EXPECT_FLOAT_EQ(x.grad().data()[1], 20.0f);
}

TEST(Broadcast, ShapesAndSumToShape) {
  EXPECT_EQ(mc::broadcast_shape({4, 1, 3}, {5, 1}), (mc::Shape{4, 5, 3}));
  EXPECT_THROW(mc::broadcast_shape({2, 3}, {4}), mc::ShapeError);
  Tensor g = Tensor::ones({4, 5, 3});
  Tensor s = mc::sum_to_shape(g, {5, 1});
  ASSERT_EQ(s.shape(), (mc::Shape{5, 1}));
  EXPECT_FLOAT_EQ(s.data()[0], 12.0f);
  Tensor e = mc::expand_to(Tensor::from({3}, {1, 2, 3}), {2, 3});
  EXPECT_FLOAT_EQ(e.data()[5], 3.0f);
}

TEST(Ops, ForwardValues) {
  Var a(Tensor::from({2, 2}, {1, 2, 3, 4}));
  Var b(Tensor::from({2}, {10, 20}));
  EXPECT_FLOAT_EQ(mc::add(a, b).value().data()[3], 24.0f);
  EXPECT_FLOAT_EQ(mc::matmul(a, a).value().data()[0], 7.0f);
  EXPECT_FLOAT_EQ(mc::transpose(a).value().data()[1], 3.0f);
  EXPECT_FLOAT_EQ(mc::concat({a, a}, 1).value().data()[2], 1.0f);
  EXPECT_FLOAT_EQ(mc::slice(a, 1, 1, 2).value().data()[1], 4.0f);
  EXPECT_FLOAT_EQ(mc::sum(a, 0).value().data()[1], 6.0f);
  // log(e^1 + e^2) - 2 for row 0 (label 1)
  Var logits(Tensor::from({1, 2}, {1, 2}));
  EXPECT_NEAR(mc::softmax_cross_entropy(logits, {1}).value().item(), std::log(std::exp(1.0) + std::exp(2.0)) - 2.0, 1e-6);
}

TEST(Ops, CrossEntropyIsStableForHugeLogits) {
  Var logits(Tensor::from({1, 3}, {1000.0f, 0.0f, -1000.0f}));
  const float loss = mc::softmax_cross_entropy(logits, {0}).value().item();
  EXPECT_TRUE(std::isfinite(loss));
  EXPECT_NEAR(loss, 0.0f, 1e-6);
}

TEST(Ops, BadLabelsAndIdsAreNamed) {
  Var logits(Tensor::zeros({2, 3}));
  EXPECT_THROW(mc::softmax_cross_entropy(logits, {0, 3}), mc::ValueError);
  EXPECT_THROW(mc::softmax_cross_entropy(logits, {0}), mc::ShapeError);
  try {
    mc::softmax_cross_entropy(logits, {-1, 0});
    ADD_FAILURE() << "a negative label was taken";
  } catch (const mc::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("label -1 at row 0 is outside [0, 3)"), std::string::npos) << e.what();
  }
  Var table(Tensor::zeros({4, 2}));
  EXPECT_THROW(mc::embedding(table, {1, 4}), mc::ValueError);
}
