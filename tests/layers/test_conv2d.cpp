// Conv2d: window geometry, the fused op against a naive direct convolution (SAME / VALID,
// strides, several chunks, fused ReLU), gradient checks of inputs, kernel and bias.
#include <gtest/gtest.h>

#include "matcomp/autograd/ops.h"
#include "matcomp/core/parallel.h"
#include "matcomp/layers/modules/conv2d.h"
#include "matcomp/layers/kernels/conv2d_core.h"
#include "matcomp/layers/kernels/conv2d_op.h"
#include "matcomp/layers/kernels/conv2d_pool_op.h"
#include "test_layers_util.h"

using namespace mc;
using mc::testing::randn;

namespace {

// y[n, co, oh, ow] = b[co] + sum_{i, j, c} x[n, c, oh*s - pt + i, ow*s - pl + j] W[(i*kw + j)*C + c, co]
Tensor naive_conv(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dSpec& spec) {
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), CO = w.size(1);
  const WindowGeometry g = WindowGeometry::make(H, W, spec.kernel_h, spec.kernel_w, spec.stride, spec.padding);
  Tensor y = Tensor::zeros({N, CO, g.out_h, g.out_w});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t co = 0; co < CO; ++co)
      for (int64_t oh = 0; oh < g.out_h; ++oh)
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          double acc = b.defined() ? b.data()[co] : 0.0;
          for (int64_t i = 0; i < spec.kernel_h; ++i)
            for (int64_t j = 0; j < spec.kernel_w; ++j)
              for (int64_t c = 0; c < C; ++c) {
                const int64_t h = oh * spec.stride - g.pad_top + i, ww = ow * spec.stride - g.pad_left + j;
                if (h < 0 || h >= H || ww < 0 || ww >= W) continue;
                acc += static_cast<double>(x.data()[((n * C + c) * H + h) * W + ww]) *
                       w.data()[((i * spec.kernel_w + j) * C + c) * CO + co];
              }
          if (spec.relu && acc < 0) acc = 0;
          y.data()[((n * CO + co) * g.out_h + oh) * g.out_w + ow] = static_cast<float>(acc);
        }
  return y;
}

void expect_matches_naive(Shape x_shape, int64_t kh, int64_t kw, int64_t cout, int64_t stride, Padding padding,
                          bool relu, bool bias, uint64_t seed) {
  const Tensor x = randn(x_shape, seed);
  const Tensor w = randn({kh * kw * x_shape[1], cout}, seed + 1, 0.3f);
  const Tensor b = bias ? randn({cout}, seed + 2) : Tensor();
  const Conv2dSpec spec{kh, kw, stride, padding, relu};
  const Var y = conv2d(Var(x), Var(w), bias ? Var(b) : Var(), spec);
  const Tensor ref = naive_conv(x, w, b, spec);
  ASSERT_EQ(to_string(y.shape()), to_string(ref.shape()));
  EXPECT_LT(mc::testing::max_abs_diff(y.value(), ref), 2e-5f)
      << "x " << to_string(x_shape) << " k " << kh << "x" << kw << " stride " << stride;
}

GradcheckOptions conv_check_options() {
  GradcheckOptions o;
  o.entries_per_input = 16;
  return o;
}

void check_conv_gradients(Shape x_shape, int64_t kh, int64_t kw, int64_t cout, int64_t stride, Padding padding,
                          bool relu, uint64_t seed) {
  const Conv2dSpec spec{kh, kw, stride, padding, relu};
  const GradcheckResult r = gradcheck([&](const std::vector<Var>& v) { return conv2d(v[0], v[1], v[2], spec); },
                                      {randn(x_shape, seed), randn({kh * kw * x_shape[1], cout}, seed + 1, 0.3f),
                                       randn({cout}, seed + 2, 0.5f)},
                                      {}, conv_check_options());
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_GT(r.checked, 24);
  EXPECT_GT(r.nonzero, 24);
}

}  // namespace

TEST(ConvGeometry, TensorFlowSameAndValid) {
  WindowGeometry g = WindowGeometry::make(24, 24, 3, 3, 2, Padding::Same);
  EXPECT_EQ(g.out_h, 12);
  EXPECT_EQ(g.pad_top, 0);  // total 1: 0 before, 1 after
  g = WindowGeometry::make(12, 12, 3, 3, 2, Padding::Same);
  EXPECT_EQ(g.out_w, 6);
  EXPECT_EQ(g.pad_left, 0);
  g = WindowGeometry::make(24, 24, 5, 5, 1, Padding::Same);
  EXPECT_EQ(g.out_h, 24);
  EXPECT_EQ(g.pad_top, 2);
  g = WindowGeometry::make(7, 8, 4, 4, 1, Padding::Same);  // total 3 -> 1 before, 2 after
  EXPECT_EQ(g.pad_top, 1);
  g = WindowGeometry::make(10, 9, 3, 2, 2, Padding::Valid);
  EXPECT_EQ(g.out_h, 4);
  EXPECT_EQ(g.out_w, 4);
  EXPECT_EQ(g.pad_top, 0);
  EXPECT_THROW(WindowGeometry::make(2, 2, 3, 3, 1, Padding::Valid), ShapeError);
  EXPECT_THROW(WindowGeometry::make(4, 4, 3, 3, 0, Padding::Same), ValueError);
}

TEST(Conv2dOp, MatchesNaiveSameStride1) { expect_matches_naive({2, 3, 7, 6}, 5, 5, 4, 1, Padding::Same, false, true, 10); }
TEST(Conv2dOp, MatchesNaiveValidStride1) { expect_matches_naive({2, 3, 7, 6}, 3, 2, 5, 1, Padding::Valid, false, true, 20); }
TEST(Conv2dOp, MatchesNaiveSameStride2) { expect_matches_naive({3, 2, 9, 8}, 3, 3, 4, 2, Padding::Same, false, true, 30); }
TEST(Conv2dOp, MatchesNaiveValidStride2EvenKernel) { expect_matches_naive({2, 4, 9, 10}, 4, 4, 3, 2, Padding::Valid, false, false, 40); }
TEST(Conv2dOp, MatchesNaiveFusedRelu) { expect_matches_naive({2, 3, 6, 6}, 3, 3, 6, 1, Padding::Same, true, true, 50); }

TEST(Conv2dOp, MatchesNaiveAcrossSeveralChunks) {
  // Small images: many per chunk; enough of them that the batch still spans several chunks
  // and ends on a partial one.
  const Shape shape{0, 2, 5, 5};
  const int64_t per_chunk = conv_chunk_images(1 << 20, 3 * 3 * 2, 25);
  ASSERT_GT(per_chunk, 1);
  Shape big = shape;
  big[0] = 2 * per_chunk + 3;
  expect_matches_naive(big, 3, 3, 3, 1, Padding::Same, true, true, 60);
}

TEST(Conv2dOp, CifarShapesMatchNaive) {
  expect_matches_naive({2, 3, 24, 24}, 5, 5, 64, 1, Padding::Same, true, true, 70);
  expect_matches_naive({1, 64, 12, 12}, 5, 5, 64, 1, Padding::Same, true, true, 80);
}

TEST(Conv2dOp, RejectsBadShapes) {
  EXPECT_THROW(conv2d(Var(randn({2, 3, 5, 5}, 1)), Var(randn({3 * 3 * 2, 4}, 2)), Var(), {3, 3, 1, Padding::Same, false}),
               ShapeError);
  EXPECT_THROW(conv2d(Var(randn({2, 3, 5}, 1)), Var(randn({27, 4}, 2)), Var(), {3, 3, 1, Padding::Same, false}), ShapeError);
  EXPECT_THROW(conv2d(Var(randn({2, 3, 5, 5}, 1)), Var(randn({27, 4}, 2)), Var(randn({3}, 3)), {3, 3, 1, Padding::Same, false}),
               ShapeError);
}

TEST(Conv2dGradcheck, SameStride1) { check_conv_gradients({2, 3, 6, 5}, 3, 3, 4, 1, Padding::Same, false, 100); }
TEST(Conv2dGradcheck, ValidStride1) { check_conv_gradients({2, 2, 6, 6}, 3, 2, 3, 1, Padding::Valid, false, 110); }
TEST(Conv2dGradcheck, SameStride2) { check_conv_gradients({2, 3, 7, 8}, 3, 3, 4, 2, Padding::Same, false, 120); }
TEST(Conv2dGradcheck, ValidStride2) { check_conv_gradients({2, 2, 9, 7}, 4, 3, 3, 2, Padding::Valid, false, 130); }
TEST(Conv2dGradcheck, SameStride1FusedRelu) {
  // A kernel perturbation moves every output pixel of its channel, so some cross 0 within the
  // stencil: a large positive bias keeps most outputs clear of the kink...
  const Conv2dSpec spec{3, 3, 1, Padding::Same, true};
  Tensor b = Tensor::full({4}, 1.5f);
  b.data()[1] = -0.5f;  // ...and one channel keeps plenty of zeros in play.
  mc::testing::expect_gradients_match([&](const std::vector<Var>& v) { return conv2d(v[0], v[1], v[2], spec); },
                                      {randn({2, 3, 5, 5}, 140), randn({27, 4}, 141, 0.2f), b});
}

TEST(Conv2dGradcheck, FusedReluEqualsComposedRelu) {
  // Fused and composed ReLU must give identical gradients for every input (same masks).
  const Conv2dSpec fused{5, 5, 1, Padding::Same, true}, plain{5, 5, 1, Padding::Same, false};
  const Tensor x = randn({3, 4, 7, 6}, 142), w = randn({100, 5}, 143, 0.2f), b = randn({5}, 144);
  Var x1(x.clone(), true), w1(w.clone(), true), b1(b.clone(), true);
  Var x2(x.clone(), true), w2(w.clone(), true), b2(b.clone(), true);
  const Tensor seed = randn({3, 5, 7, 6}, 145);
  Var y1 = conv2d(x1, w1, b1, fused), y2 = relu(conv2d(x2, w2, b2, plain));
  EXPECT_EQ(mc::testing::max_abs_diff(y1.value(), y2.value()), 0.0f);
  y1.backward(seed);
  y2.backward(seed);
  EXPECT_EQ(mc::testing::max_abs_diff(x1.grad(), x2.grad()), 0.0f);
  EXPECT_EQ(mc::testing::max_abs_diff(w1.grad(), w2.grad()), 0.0f);
  EXPECT_EQ(mc::testing::max_abs_diff(b1.grad(), b2.grad()), 0.0f);
  int zeros = 0;
  for (float v : y1.value().span()) zeros += v == 0.0f;
  EXPECT_GT(zeros, 50);  // the mask really masks
}

// cout <= C at stride 1: dx takes the flipped-kernel convolution path instead of col2im.
TEST(Conv2dGradcheck, FlippedKernelPathSame) { check_conv_gradients({2, 5, 6, 5}, 3, 3, 4, 1, Padding::Same, false, 155); }
TEST(Conv2dGradcheck, FlippedKernelPathValid) { check_conv_gradients({2, 4, 6, 7}, 3, 2, 4, 1, Padding::Valid, false, 156); }
TEST(Conv2dGradcheck, FlippedKernelPathEvenKernelUnevenPads) {
  check_conv_gradients({2, 4, 7, 6}, 4, 2, 3, 1, Padding::Same, false, 157);  // pads 1 / 2 and 0 / 1
}

TEST(Conv2dGradcheck, SeveralChunks) {
  const int64_t n = 2 * conv_chunk_images(1 << 20, 2 * 2 * 2, 16) + 1;
  check_conv_gradients({n, 2, 4, 4}, 2, 2, 3, 1, Padding::Same, false, 150);
}

// Chunks run one per thread when there are enough of them, each with a single-threaded sgemm,
// and each chunk's dW and db are summed in chunk order: values and gradients must not depend
// on the thread count (nor on which thread ran which chunk).
TEST(Conv2dOp, SameBitsForAnyThreadCount) {
  struct Case {
    Shape x;
    int64_t cout;
    bool pool;
  };
  const int64_t per_chunk = conv_chunk_images(1 << 20, 5 * 5 * 8, 12 * 12);
  const std::vector<Case> cases{{{3 * per_chunk + 1, 8, 12, 12}, 4, false},   // dx as the flipped-kernel convolution
                                {{3 * per_chunk + 1, 8, 12, 12}, 4, true},    // fused ReLU + max-pool
                                {{9, 3, 24, 24}, 16, false}};                 // cout > C: dx through col2im
  const int threads_before = num_threads();
  for (const Case& c : cases) {
    const Tensor x = randn(c.x, 180), w = randn({25 * c.x[1], c.cout}, 181, 0.2f), b = randn({c.cout}, 182, 0.3f);
    std::vector<Tensor> first;
    for (int threads : {1, 2, 3}) {
      set_num_threads(threads);
      Var xv(x.clone(), true), wv(w.clone(), true), bv(b.clone(), true);
      const Conv2dSpec spec{5, 5, 1, Padding::Same, true};
      Var y = c.pool ? conv2d_relu_maxpool(xv, wv, bv, spec, {3, 3, 2, Padding::Same}) : conv2d(xv, wv, bv, spec);
      y.backward(randn(y.shape(), 183));
      const std::vector<Tensor> got{y.value(), xv.grad(), wv.grad(), bv.grad()};
      if (first.empty()) {
        first = got;
        continue;
      }
      for (size_t i = 0; i < got.size(); ++i)
        EXPECT_EQ(mc::testing::max_abs_diff(got[i], first[i]), 0.0f)
            << "output " << i << " (y, dx, dW, db) at " << threads << " threads, x " << to_string(c.x);
    }
  }
  set_num_threads(threads_before);
}

TEST(Conv2dLayer, WeightSeamNamesAndForward) {
  Conv2dOptions opt;
  opt.relu = true;
  opt.bias_init = 0.1f;
  Conv2d conv(randn({5 * 5 * 3, 8}, 1, 0.1f), 5, 5, opt);
  EXPECT_EQ(conv.in_channels(), 3);
  EXPECT_EQ(conv.out_channels(), 8);
  EXPECT_TRUE(conv.has_parameter("weight.A"));
  EXPECT_TRUE(conv.has_parameter("bias"));
  EXPECT_EQ(to_string(conv.parameter("weight.A").shape()), "[75, 8]");
  const Tensor x = randn({2, 3, 6, 6}, 2);
  const Var y = conv.forward(Var(x));
  EXPECT_EQ(to_string(y.shape()), "[2, 8, 6, 6]");
  const Tensor ref = naive_conv(x, conv.parameter("weight.A").value(), conv.parameter("bias").value(), conv.spec());
  EXPECT_LT(mc::testing::max_abs_diff(y.value(), ref), 2e-5f);
  EXPECT_THROW(conv.forward(Var(randn({2, 4, 6, 6}, 3))), ShapeError);
  // Gradients reach the registry's parameters.
  sum(conv.forward(Var(x))).backward();
  EXPECT_TRUE(conv.parameter("weight.A").grad().defined());
  EXPECT_TRUE(conv.parameter("bias").grad().defined());
}

TEST(Conv2dLayer, NoBias) {
  Conv2dOptions opt;
  opt.bias = false;
  opt.padding = Padding::Valid;
  Conv2d conv(randn({3 * 3 * 2, 4}, 1, 0.1f), 3, 3, opt);
  EXPECT_FALSE(conv.has_parameter("bias"));
  mc::testing::expect_gradients_match([&](const std::vector<Var>& v) { return conv.forward(v[0]); }, {randn({2, 2, 5, 5}, 4)});
}

TEST(Conv2dReluMaxpool, EqualsComposedOpsExactly) {
  // Same forward values and the same gradients, bit for bit, as relu-conv then max_pool2d.
  for (const auto& [shape, stride] : std::vector<std::pair<Shape, int64_t>>{{{3, 3, 9, 8}, 1}, {{2, 4, 11, 10}, 2}}) {
    const Conv2dSpec conv{5, 5, stride, Padding::Same, true};
    const Pool2dSpec pool{3, 3, 2, Padding::Same};
    const int64_t cout = 6;
    const Tensor x = randn(shape, 160), w = randn({25 * shape[1], cout}, 161, 0.2f), b = randn({cout}, 162, 0.3f);
    Var x1(x.clone(), true), w1(w.clone(), true), b1(b.clone(), true);
    Var x2(x.clone(), true), w2(w.clone(), true), b2(b.clone(), true);
    Var y1 = conv2d_relu_maxpool(x1, w1, b1, conv, pool), y2 = max_pool2d(conv2d(x2, w2, b2, conv), pool);
    ASSERT_EQ(to_string(y1.shape()), to_string(y2.shape()));
    EXPECT_EQ(mc::testing::max_abs_diff(y1.value(), y2.value()), 0.0f);
    const Tensor seed = randn(y1.shape(), 163);
    y1.backward(seed);
    y2.backward(seed);
    EXPECT_EQ(mc::testing::max_abs_diff(x1.grad(), x2.grad()), 0.0f);
    EXPECT_EQ(mc::testing::max_abs_diff(w1.grad(), w2.grad()), 0.0f);
    EXPECT_EQ(mc::testing::max_abs_diff(b1.grad(), b2.grad()), 0.0f);
  }
  EXPECT_THROW(conv2d_relu_maxpool(Var(randn({1, 1, 4, 4}, 1)), Var(randn({9, 2}, 2)), Var(), {3, 3, 1, Padding::Same, false}, {}),
               ValueError);
}

TEST(Conv2dReluMaxpool, Gradcheck) {
  // Distinct, well separated pre-activations keep pool winners and ReLU signs fixed within the
  // stencil: a 1x1 kernel over distinct inputs with a positive weight and bias.
  Rng rng(170);
  Tensor x = Tensor::empty({2, 1, 6, 6});
  std::vector<int64_t> order = rng.permutation(x.numel());
  for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = 0.1f * static_cast<float>(order[static_cast<size_t>(i)]) - 2.0f;
  mc::testing::expect_gradients_match(
      [](const std::vector<Var>& v) { return conv2d_relu_maxpool(v[0], v[1], v[2], {1, 1, 1, Padding::Same, true}, {}); },
      {x, Tensor::full({1, 2}, 0.7f), Tensor::from({2}, {0.3f, 0.6f})});
}
