// LRN: forward against a naive formula, gradient checks across several channels (windows
// clipped at both ends, radius larger than the channel count, beta values with and without
// the fast path).
#include <gtest/gtest.h>

#include <cmath>

#include "matcomp/autograd/ops.h"
#include "matcomp/layers/modules/lrn.h"
#include "matcomp/layers/modules/pool2d.h"
#include "test_layers_util.h"

using namespace mc;
using mc::testing::randn;

namespace {

Tensor naive_lrn(const Tensor& x, const LrnSpec& spec) {
  const int64_t N = x.size(0), C = x.size(1), P = x.numel() / (N * C);
  Tensor y = Tensor::empty(x.shape());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t d = 0; d < C; ++d)
      for (int64_t p = 0; p < P; ++p) {
        double s = 0;
        for (int64_t e = d - spec.depth_radius; e <= d + spec.depth_radius; ++e)
          if (e >= 0 && e < C) s += std::pow(static_cast<double>(x.data()[(n * C + e) * P + p]), 2);
        const double v = x.data()[(n * C + d) * P + p];
        y.data()[(n * C + d) * P + p] = static_cast<float>(v / std::pow(spec.bias + spec.alpha * s, spec.beta));
      }
  return y;
}

}  // namespace

TEST(LRN, ForwardMatchesNaive) {
  const Tensor x = randn({2, 12, 3, 4}, 1, 3.0f);
  for (const LrnSpec spec : {LrnSpec{}, LrnSpec{2, 2.0f, 0.5f, 0.75f}, LrnSpec{5, 1.0f, 1.0f, 0.5f}, LrnSpec{1, 1.5f, 0.3f, 0.6f}}) {
    const Tensor y = lrn(Var(x), spec).value();
    const Tensor ref = naive_lrn(x, spec);
    for (int64_t i = 0; i < y.numel(); ++i) EXPECT_NEAR(y.data()[i], ref.data()[i], 2e-6 * (1 + std::fabs(ref.data()[i])));
  }
}

TEST(LRN, ModuleUsesTheCifarDefaults) {
  LRN norm;
  EXPECT_EQ(norm.spec().depth_radius, 4);
  EXPECT_FLOAT_EQ(norm.spec().alpha, 0.001f / 9.0f);
  EXPECT_FLOAT_EQ(norm.spec().beta, 0.75f);
  const Tensor x = randn({1, 10, 2, 2}, 2, 10.0f);
  EXPECT_LT(mc::testing::max_abs_diff(norm.forward(Var(x)).value(), naive_lrn(x, norm.spec())), 1e-5f);
}

// alpha large enough that the normalisation really couples the channels in the check.
TEST(LRN, GradcheckAcrossChannels) {
  mc::testing::expect_gradients_match([](const std::vector<Var>& v) { return lrn(v[0], {2, 1.0f, 0.5f, 0.75f}); },
                                      {randn({2, 7, 3, 3}, 3)});
}

TEST(LRN, GradcheckRadiusBeyondChannels) {
  mc::testing::expect_gradients_match([](const std::vector<Var>& v) { return lrn(v[0], {4, 2.0f, 0.3f, 0.5f}); },
                                      {randn({2, 3, 2, 2}, 4)});
}

TEST(LRN, GradcheckGenericBeta) {
  mc::testing::expect_gradients_match([](const std::vector<Var>& v) { return lrn(v[0], {1, 1.0f, 0.7f, 0.6f}); },
                                      {randn({1, 6, 2, 3}, 5)});
}

TEST(LRN, GradcheckCifarSettingsLargeInputs) {
  // With the model's tiny alpha the coupling only shows on large activations.
  mc::testing::expect_gradients_match([](const std::vector<Var>& v) { return lrn(v[0]); }, {randn({2, 12, 2, 2}, 6, 8.0f)});
}

TEST(LRN, RejectsBadSettings) {
  EXPECT_THROW(lrn(Var(Tensor::zeros({4})), {}), ShapeError);
  EXPECT_THROW(lrn(Var(Tensor::zeros({1, 2, 2, 2})), {2, 0.0f, 1.0f, 0.5f}), ValueError);
}

TEST(LRN, FusedMaxpoolEqualsComposedOps) {
  const LrnSpec spec{2, 1.0f, 0.5f, 0.75f};
  const Pool2dSpec pool{3, 3, 2, Padding::Same};
  const Tensor x = randn({3, 7, 9, 8}, 7);
  Var x1(x.clone(), true), x2(x.clone(), true);
  Var y1 = lrn_maxpool(x1, spec, pool), y2 = max_pool2d(lrn(x2, spec), pool);
  ASSERT_EQ(to_string(y1.shape()), "[3, 7, 5, 4]");
  EXPECT_EQ(mc::testing::max_abs_diff(y1.value(), y2.value()), 0.0f);
  const Tensor seed = randn(y1.shape(), 8);
  y1.backward(seed);
  y2.backward(seed);
  EXPECT_LT(mc::testing::max_abs_diff(x1.grad(), x2.grad()), 1e-6f);
  LRN norm(spec);
  EXPECT_EQ(mc::testing::max_abs_diff(norm.forward_maxpool(Var(x), pool).value(), y2.value()), 0.0f);
}

TEST(LRN, GradcheckFusedMaxpool) {
  // Distinct inputs spaced well apart keep the pool's winners fixed within the stencil.
  Rng rng(9);
  Tensor x = Tensor::empty({2, 5, 4, 4});
  std::vector<int64_t> order = rng.permutation(x.numel());
  for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = 0.03f * static_cast<float>(order[static_cast<size_t>(i)]) - 2.4f;
  mc::testing::expect_gradients_match(
      [](const std::vector<Var>& v) { return lrn_maxpool(v[0], {2, 1.0f, 0.5f, 0.75f}, {3, 3, 2, Padding::Same}); }, {x});
}
