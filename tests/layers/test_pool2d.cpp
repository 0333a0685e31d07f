// MaxPool2d: forward against a naive max with -inf padding, gradient checks on inputs
// without ties (distinct values), routing to the first maximum.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "matcomp/autograd/ops.h"
#include "matcomp/layers/modules/pool2d.h"
#include "test_layers_util.h"

using namespace mc;

namespace {

// Distinct values (a shuffled ramp): no ties, and at least 0.05 between any two, so the
// gradient check's steps never change a window's winner.
Tensor distinct(Shape shape, uint64_t seed) {
  Rng rng(seed);
  Tensor t = Tensor::empty(std::move(shape));
  std::vector<int64_t> order = rng.permutation(t.numel());
  for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = 0.05f * static_cast<float>(order[static_cast<size_t>(i)]) - 1.0f;
  return t;
}

Tensor naive_pool(const Tensor& x, const Pool2dSpec& spec) {
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const WindowGeometry g = WindowGeometry::make(H, W, spec.kernel_h, spec.kernel_w, spec.stride, spec.padding);
  Tensor y = Tensor::empty({N, C, g.out_h, g.out_w});
  for (int64_t q = 0; q < N * C; ++q)
    for (int64_t oh = 0; oh < g.out_h; ++oh)
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        float m = -std::numeric_limits<float>::infinity();
        for (int64_t i = 0; i < spec.kernel_h; ++i)
          for (int64_t j = 0; j < spec.kernel_w; ++j) {
            const int64_t h = oh * spec.stride - g.pad_top + i, w = ow * spec.stride - g.pad_left + j;
            const float v = (h < 0 || h >= H || w < 0 || w >= W) ? -std::numeric_limits<float>::infinity()
                                                                   : x.data()[(q * H + h) * W + w];
            m = std::max(m, v);
          }
        y.data()[(q * g.out_h + oh) * g.out_w + ow] = m;
      }
  return y;
}

void expect_pool_matches(Shape shape, Pool2dSpec spec, uint64_t seed) {
  const Tensor x = mc::testing::randn(shape, seed);
  const Var y = max_pool2d(Var(x), spec);
  const Tensor ref = naive_pool(x, spec);
  ASSERT_EQ(to_string(y.shape()), to_string(ref.shape()));
  EXPECT_EQ(mc::testing::max_abs_diff(y.value(), ref), 0.0f);
}

}  // namespace

TEST(MaxPool2d, CifarSameShapes) {
  MaxPool2d pool;  // 3x3 stride 2 SAME
  EXPECT_EQ(to_string(pool.forward(Var(Tensor::zeros({2, 3, 24, 24}))).shape()), "[2, 3, 12, 12]");
  EXPECT_EQ(to_string(pool.forward(Var(Tensor::zeros({2, 3, 12, 12}))).shape()), "[2, 3, 6, 6]");
}

TEST(MaxPool2d, ForwardMatchesNaive) {
  expect_pool_matches({2, 3, 24, 24}, {3, 3, 2, Padding::Same}, 1);
  expect_pool_matches({2, 3, 12, 12}, {3, 3, 2, Padding::Same}, 2);
  expect_pool_matches({1, 2, 7, 9}, {2, 3, 1, Padding::Same}, 3);
  expect_pool_matches({1, 2, 9, 8}, {3, 2, 3, Padding::Valid}, 4);
  expect_pool_matches({2, 2, 5, 5}, {4, 4, 2, Padding::Same}, 5);
}

TEST(MaxPool2d, GradientGoesToTheWinner) {
  // One 2x2 window over [[1, 5], [3, 2]]: all of the gradient lands on the 5.
  Var x(Tensor::from({1, 1, 2, 2}, {1, 5, 3, 2}), true);
  max_pool2d(x, {2, 2, 2, Padding::Valid}).backward(Tensor::full({1, 1, 1, 1}, 2.0f));
  EXPECT_EQ(x.grad().data()[0], 0.0f);
  EXPECT_EQ(x.grad().data()[1], 2.0f);
  EXPECT_EQ(x.grad().data()[2], 0.0f);
  // Overlapping windows (3x3 stride 2) accumulate: the centre pixel wins both windows.
  Tensor v = Tensor::zeros({1, 1, 3, 5});
  v.data()[1 * 5 + 2] = 9.0f;
  Var x2(v, true);
  max_pool2d(x2, {3, 3, 2, Padding::Valid}).backward(Tensor::ones({1, 1, 1, 2}));
  EXPECT_EQ(x2.grad().data()[1 * 5 + 2], 2.0f);
}

TEST(MaxPool2d, GradcheckSameStride2) {
  mc::testing::expect_gradients_match([](const std::vector<Var>& v) { return max_pool2d(v[0], {3, 3, 2, Padding::Same}); },
                                      {distinct({2, 3, 8, 8}, 6)});
}

TEST(MaxPool2d, GradcheckValidStride1) {
  mc::testing::expect_gradients_match([](const std::vector<Var>& v) { return max_pool2d(v[0], {2, 3, 1, Padding::Valid}); },
                                      {distinct({2, 2, 6, 7}, 7)});
}

TEST(MaxPool2d, RejectsBadInput) {
  EXPECT_THROW(max_pool2d(Var(Tensor::zeros({2, 3, 4})), {}), ShapeError);
  EXPECT_THROW(max_pool2d(Var(Tensor::zeros({1, 1, 2, 2})), {3, 3, 1, Padding::Valid}), ShapeError);
}

TEST(MaxPool2d, TiesGoToTheFirstMaximumInRowMajorOrder) {
  // 5 appears at (0, 1), (1, 0) and (2, 2): the first in row-major order, (0, 1), wins, even
  // though column 0 holds a 5 too (the kernel takes column maxima first).
  Var x(Tensor::from({1, 1, 3, 3}, {1, 5, 1, 5, 1, 1, 0, 0, 5}), true);
  max_pool2d(x, {3, 3, 1, Padding::Valid}).backward(Tensor::ones({1, 1, 1, 1}));
  for (int64_t i = 0; i < 9; ++i) EXPECT_EQ(x.grad().data()[i], i == 1 ? 1.0f : 0.0f) << i;
  // All equal (a ReLU's zeros): the window's first pixel wins.
  Var z(Tensor::zeros({1, 1, 4, 4}), true);
  max_pool2d(z, {3, 3, 2, Padding::Same}).backward(Tensor::ones({1, 1, 2, 2}));
  EXPECT_EQ(z.grad().data()[0], 1.0f);       // window (0, 0)
  EXPECT_EQ(z.grad().data()[2], 1.0f);       // window (0, 1) starts at column 2
  EXPECT_EQ(z.grad().data()[2 * 4], 1.0f);   // window (1, 0) starts at row 2
  EXPECT_EQ(z.grad().data()[2 * 4 + 2], 1.0f);
}

// Both kernels behind max_pool2d (the direct one for narrow planes, the column-maxima one for
// wider) against the definition, on data full of ties: the first maximum of a window in
// row-major order. The winners are read back through the gradient.
// The kernels chosen by plane width: the direct 3x3 one up to 16, the AVX-512 one from 17 to
// 31 (where the build has AVX-512), the separable one above; SAME on even sizes (no top or left
// padding) and VALID, whose windows never pass the edge.
TEST(MaxPool2d, EveryKernelKeepsTheFirstMaximumAmongTies) {
  struct Case {
    int64_t size;
    Padding padding;
  };
  for (const Case c : {Case{12, Padding::Same}, Case{18, Padding::Same}, Case{24, Padding::Same}, Case{30, Padding::Same},
                       Case{40, Padding::Same}, Case{17, Padding::Valid}, Case{24, Padding::Valid},
                       Case{31, Padding::Valid}, Case{33, Padding::Valid}}) {
    const int64_t size = c.size;
    const int64_t out = c.padding == Padding::Same ? size / 2 : (size - 3) / 2 + 1;
    Rng rng(40 + static_cast<uint64_t>(size));
    Tensor x = Tensor::empty({2, 3, size, size});
    for (int64_t i = 0; i < x.numel(); ++i) {
      const float u = static_cast<float>(rng.uniform());
      x.data()[i] = std::floor(u * 3.0f);  // 0, 1 or 2: most windows hold several maxima
    }
    Tensor seed = Tensor::empty({2, 3, out, out});
    for (int64_t i = 0; i < seed.numel(); ++i) seed.data()[i] = static_cast<float>(i + 1);
    Tensor want_y = Tensor::empty(seed.shape()), want_dx = Tensor::zeros(x.shape());
    for (int64_t q = 0; q < 6; ++q)
      for (int64_t oh = 0; oh < out; ++oh)
        for (int64_t ow = 0; ow < out; ++ow) {
          const float* plane = x.data() + q * size * size;
          int64_t best = (2 * oh) * size + 2 * ow;
          for (int64_t h = 2 * oh; h < std::min(2 * oh + 3, size); ++h)
            for (int64_t w = 2 * ow; w < std::min(2 * ow + 3, size); ++w)
              if (plane[h * size + w] > plane[best]) best = h * size + w;
          const int64_t o = (q * out + oh) * out + ow;
          want_y.data()[o] = plane[best];
          want_dx.data()[q * size * size + best] += seed.data()[o];
        }
    Var xv(x, true);
    Var y = max_pool2d(xv, {3, 3, 2, c.padding});
    ASSERT_EQ(y.value().shape(), seed.shape()) << size;
    y.backward(seed);
    for (int64_t i = 0; i < y.numel(); ++i) {
      const float got = y.value().data()[i], want = want_y.data()[i];
      EXPECT_EQ(got, want) << size << "x" << size << " output " << i;
    }
    EXPECT_EQ(mc::testing::max_abs_diff(xv.grad(), want_dx), 0.0f) << size << "x" << size;
  }
}
