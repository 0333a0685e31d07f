// The layers' builtin matrix product (layer_gemm.h) against a double-precision product on
// every tile shape it dispatches (row and column tails, masked last vectors, depth blocks,
// both A orientations, row-major and transposed stores); the convolution and affine ops on
// both products (builtin and OpenBLAS) against each other and numerical gradients, the fused
// LSTM likewise; and the MATCOMP_GEMM variable's parsing.
#include "matcomp/layers/kernels/layer_gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "matcomp/autograd/ops.h"
#include "matcomp/core/parallel.h"
#include "matcomp/core/rng.h"
#include "matcomp/layers/kernels/conv2d_op.h"
#include "matcomp/layers/kernels/affine_op.h"
#include "matcomp/layers/kernels/conv2d_pool_op.h"
#include "matcomp/layers/kernels/lstm_op.h"
#include "test_layers_util.h"

using namespace mc;
using mc::testing::randn;

namespace {

constexpr float kGuard = -777.0f;  // written around C: must survive every store

struct GemmCase {
  int64_t m, n, depth;
  bool a_row_major;  // A(i, d) at a[i * depth + d]; else a[d * m + i] (im2col's columns read as A^T)
  bool c_transposed;
};

// Runs builtin_gemm on random A and B, with C inside a larger guarded buffer (leading
// dimension padded by 3), and returns the largest error relative to sum |A(i,d) B(d,j)|.
double relative_error(const GemmCase& c, uint64_t seed) {
  const Tensor a = randn({std::max<int64_t>(1, c.m * c.depth)}, seed);
  const Tensor b = randn({std::max<int64_t>(1, c.depth * c.n)}, seed + 1);
  const int64_t a_row = c.a_row_major ? c.depth : 1, a_depth = c.a_row_major ? 1 : c.m;
  const int64_t ld = (c.c_transposed ? c.m : c.n) + 3;
  const int64_t c_row = c.c_transposed ? 1 : ld, c_col = c.c_transposed ? ld : 1;
  std::vector<float> out(static_cast<size_t>((c.c_transposed ? c.n : c.m) * ld + 5), kGuard);
  builtin_gemm(c.m, c.n, c.depth, a.data(), a_row, a_depth, b.data(), c.n, out.data(), c_row, c_col);
  std::vector<bool> inside(out.size(), false);
  double worst = 0;
  for (int64_t i = 0; i < c.m; ++i)
    for (int64_t j = 0; j < c.n; ++j) {
      double exact = 0, scale = 0;
      for (int64_t d = 0; d < c.depth; ++d) {
        const double t = static_cast<double>(a.data()[i * a_row + d * a_depth]) * b.data()[d * c.n + j];
        exact += t;
        scale += std::fabs(t);
      }
      const size_t at = static_cast<size_t>(i * c_row + j * c_col);
      inside[at] = true;
      const double err = std::fabs(out[at] - exact);
      worst = std::max(worst, scale > 0 ? err / scale : err);
    }
  for (size_t k = 0; k < out.size(); ++k) {
    if (!inside[k]) {
      EXPECT_EQ(out[k], kGuard) << "wrote outside C at " << k;
    }
  }
  return worst;
}

}  // namespace

TEST(BuiltinGemm, MatchesDoublePrecisionOnEveryTileShape) {
  if (!builtin_gemm_compiled()) GTEST_SKIP() << "the builtin product needs an AVX-512 build (MATCOMP_NATIVE=ON)";
  // n: one to five 16-column vectors, partial and whole, over one and several 64-column
  // blocks; m: every row tail of the 6-, 8- and 12-row tiles; depth: empty, one step, and
  // across the 128-step blocks.
  uint64_t seed = 1;
  for (int64_t n : {1, 7, 16, 17, 32, 40, 48, 63, 64, 65, 100, 130})
    for (int64_t m : {1, 5, 6, 7, 11, 12, 13, 25})
      for (int64_t depth : {0, 1, 9, 128, 129, 300})
        for (bool a_row_major : {true, false})
          for (bool c_transposed : {false, true}) {
            const GemmCase c{m, n, depth, a_row_major, c_transposed};
            EXPECT_LT(relative_error(c, seed++), 1e-6)
                << "m " << m << " n " << n << " depth " << depth << (a_row_major ? " A rows" : " A columns")
                << (c_transposed ? ", C transposed" : "");
          }
}

// A^T B for a row-major A (m, k): the weight gradients' form (x^T dy), against double
// precision, with a k that leaves row tails and an m across the 128-step depth blocks.
TEST(BuiltinGemm, TransposedLeftOperandMatchesDoublePrecision) {
  if (!builtin_gemm_compiled()) GTEST_SKIP() << "the builtin product needs an AVX-512 build (MATCOMP_NATIVE=ON)";
  const int64_t m = 200, k = 13, n = 70;
  const Tensor a = randn({m, k}, 41), b = randn({m, n}, 42);
  std::vector<float> c(static_cast<size_t>(k * n));
  builtin_gemm_at_b(m, k, n, a.data(), b.data(), c.data());
  double worst = 0;
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double exact = 0, scale = 0;
      for (int64_t d = 0; d < m; ++d) {
        const double t = static_cast<double>(a.data()[d * k + i]) * b.data()[d * n + j];
        exact += t;
        scale += std::fabs(t);
      }
      worst = std::max(worst, std::fabs(c[static_cast<size_t>(i * n + j)] - exact) / scale);
    }
  EXPECT_LT(worst, 1e-6);
}

// The gathered form reads A(i, d) = a[rows[i] + depths[d]]: on random (shuffled, repeating)
// tables it gives the same bits as builtin_gemm on that A written out, over the tile shapes.
TEST(BuiltinGemm, GatheredEqualsTheWrittenOutMatrix) {
  if (!builtin_gemm_compiled()) GTEST_SKIP() << "the builtin product needs an AVX-512 build (MATCOMP_NATIVE=ON)";
  const int64_t source_floats = 997;
  const Tensor source = randn({source_floats}, 30);
  Rng rng(31);
  for (int64_t n : {1, 17, 48, 64, 65, 130})
    for (int64_t m : {1, 5, 6, 7, 12, 13, 25})
      for (int64_t depth : {1, 128, 129, 300}) {
        std::vector<int64_t> rows(static_cast<size_t>(m)), depths(static_cast<size_t>(depth));
        for (auto& r : rows) r = static_cast<int64_t>(rng.below(source_floats / 2));
        for (auto& d : depths) d = static_cast<int64_t>(rng.below(source_floats / 2));
        std::vector<float> a(static_cast<size_t>(m * depth));
        for (int64_t i = 0; i < m; ++i)
          for (int64_t d = 0; d < depth; ++d) a[i * depth + d] = source.data()[rows[i] + depths[d]];
        const Tensor b = randn({depth * n}, static_cast<uint64_t>(40 + m + n + depth));
        for (bool c_transposed : {false, true}) {
          const int64_t c_row = c_transposed ? 1 : n, c_col = c_transposed ? m : 1;
          std::vector<float> want(static_cast<size_t>(m * n)), got(want.size(), kGuard);
          builtin_gemm(m, n, depth, a.data(), depth, 1, b.data(), n, want.data(), c_row, c_col);
          builtin_gemm_gathered(m, n, depth, source.data(), rows.data(), depths.data(), b.data(), n, got.data(), c_row,
                                c_col);
          EXPECT_EQ(got, want) << "m " << m << " n " << n << " depth " << depth << (c_transposed ? ", C transposed" : "");
        }
      }
}

TEST(BuiltinGemm, SameBitsForAnyThreadCount) {
  if (!builtin_gemm_compiled()) GTEST_SKIP() << "the builtin product needs an AVX-512 build (MATCOMP_NATIVE=ON)";
  const int64_t m = 301, n = 70, depth = 257;
  const Tensor a = randn({m * depth}, 5), b = randn({depth * n}, 6);
  const int before = num_threads();
  std::vector<float> first;
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    std::vector<float> out(static_cast<size_t>(m * n));
    builtin_gemm(m, n, depth, a.data(), depth, 1, b.data(), n, out.data(), n, 1);
    if (first.empty())
      first = out;
    else
      EXPECT_EQ(out, first) << threads << " threads";
  }
  set_num_threads(before);
}

TEST(BuiltinGemm, SelectionRoundTripsAndRefusesWhatIsNotBuilt) {
  const LayerGemm before = layer_gemm();
  set_layer_gemm(LayerGemm::OpenBlas);
  EXPECT_EQ(layer_gemm(), LayerGemm::OpenBlas);
  EXPECT_STREQ(layer_gemm_name(layer_gemm()), "openblas");
  if (builtin_gemm_compiled()) {
    set_layer_gemm(LayerGemm::Builtin);
    EXPECT_EQ(layer_gemm(), LayerGemm::Builtin);
  } else {
    EXPECT_THROW(set_layer_gemm(LayerGemm::Builtin), ValueError);
  }
  set_layer_gemm(before);
}

namespace {

// Sets (or, with nullptr, unsets) an environment variable for one scope.
struct ScopedEnv {
  std::string name;
  std::optional<std::string> before;
  ScopedEnv(const char* n, const char* value) : name(n) {
    if (const char* v = std::getenv(n)) before = v;
    value ? ::setenv(n, value, 1) : ::unsetenv(n);
  }
  ~ScopedEnv() { before ? ::setenv(name.c_str(), before->c_str(), 1) : ::unsetenv(name.c_str()); }
};

std::string error_of(const std::function<void()>& f) { return mc::testing::error_message<ValueError>(f, ""); }

}  // namespace

TEST(LayerGemm, EnvironmentChoosesAndNamesWhatItRefuses) {
  ScopedEnv old_name("MATCOMP_CONV_GEMM", nullptr);
  {
    ScopedEnv env("MATCOMP_GEMM", nullptr);
    EXPECT_EQ(layer_gemm_from_environment(), builtin_gemm_compiled() ? LayerGemm::Builtin : LayerGemm::OpenBlas);
  }
  {
    ScopedEnv env("MATCOMP_GEMM", "openblas");
    EXPECT_EQ(layer_gemm_from_environment(), LayerGemm::OpenBlas);
  }
  {
    ScopedEnv env("MATCOMP_GEMM", "builtin");
    if (builtin_gemm_compiled())
      EXPECT_EQ(layer_gemm_from_environment(), LayerGemm::Builtin);
    else
      EXPECT_NE(error_of([] { layer_gemm_from_environment(); }).find("AVX-512"), std::string::npos);
  }
  {
    ScopedEnv env("MATCOMP_GEMM", "mkl");
    EXPECT_NE(error_of([] { layer_gemm_from_environment(); }).find("MATCOMP_GEMM=mkl"), std::string::npos);
  }
  {
    // the old name chose the convolutions only; it is refused, naming the new one
    ScopedEnv env("MATCOMP_GEMM", nullptr), old("MATCOMP_CONV_GEMM", "openblas");
    const std::string message = error_of([] { layer_gemm_from_environment(); });
    EXPECT_NE(message.find("MATCOMP_CONV_GEMM"), std::string::npos) << message;
    EXPECT_NE(message.find("MATCOMP_GEMM=openblas"), std::string::npos) << message;
  }
}

namespace {

// Sets the layers' product for one scope.
struct UseGemm {
  LayerGemm before = layer_gemm();
  explicit UseGemm(LayerGemm g) { set_layer_gemm(g); }
  ~UseGemm() { set_layer_gemm(before); }
};

std::vector<LayerGemm> available_gemms() {
  std::vector<LayerGemm> g{LayerGemm::OpenBlas};
  if (builtin_gemm_compiled()) g.push_back(LayerGemm::Builtin);
  return g;
}

}  // namespace

// The two products on the model's conv2 shape (cout <= C: dx as the flipped-kernel
// convolution) and a cout > C shape (dx through col2im), forward and all three gradients:
// they differ only by float rounding.
TEST(LayerGemm, BothProductsGiveTheSameConvolution) {
  if (!builtin_gemm_compiled()) GTEST_SKIP() << "the builtin product needs an AVX-512 build (MATCOMP_NATIVE=ON)";
  struct Case {
    Shape x;
    int64_t cout;
    bool pool;
  };
  for (const Case& c : {Case{{5, 64, 12, 12}, 64, false}, Case{{5, 16, 12, 12}, 16, true}, Case{{3, 3, 24, 24}, 20, false}}) {
    const Tensor x = randn(c.x, 200), w = randn({25 * c.x[1], c.cout}, 201, 0.05f), b = randn({c.cout}, 202, 0.1f);
    std::vector<std::vector<Tensor>> results;
    for (LayerGemm g : available_gemms()) {
      UseGemm use(g);
      Var xv(x.clone(), true), wv(w.clone(), true), bv(b.clone(), true);
      const Conv2dSpec spec{5, 5, 1, Padding::Same, true};
      Var y = c.pool ? conv2d_relu_maxpool(xv, wv, bv, spec, {3, 3, 2, Padding::Same}) : conv2d(xv, wv, bv, spec);
      y.backward(randn(y.shape(), 203));
      results.push_back({y.value(), xv.grad(), wv.grad(), bv.grad()});
    }
    for (size_t i = 0; i < results[0].size(); ++i) {
      const Tensor& ref = results[0][i];
      float scale = 0;
      for (int64_t k = 0; k < ref.numel(); ++k) scale = std::max(scale, std::fabs(ref.data()[k]));
      EXPECT_GT(scale, 0.0f);
      EXPECT_LT(mc::testing::max_abs_diff(results[1][i], ref), 2e-5f * scale)
          << "output " << i << " (y, dx, dW, db), x " << to_string(c.x);
    }
  }
}

// Numerical gradients through each product (the other conv tests run the default one).
TEST(LayerGemm, GradientsMatchOnBothProducts) {
  for (LayerGemm g : available_gemms()) {
    SCOPED_TRACE(layer_gemm_name(g));
    UseGemm use(g);
    const Conv2dSpec spec{3, 3, 1, Padding::Same, false};
    // cout <= C: dx as the flipped-kernel convolution
    mc::testing::expect_gradients_match([&](const std::vector<Var>& v) { return conv2d(v[0], v[1], v[2], spec); },
                                        {randn({2, 4, 5, 6}, 210), randn({36, 3}, 211, 0.3f), randn({3}, 212)});
    // cout > C: dx through col2im
    mc::testing::expect_gradients_match([&](const std::vector<Var>& v) { return conv2d(v[0], v[1], v[2], spec); },
                                        {randn({2, 2, 5, 5}, 213), randn({18, 5}, 214, 0.3f), randn({5}, 215)});
  }
}

// The dense layers' affine op on each product: gradient checks, and the two products' values
// and gradients against each other (a batch of the CNN's local3 shape, shrunk).
TEST(LayerGemm, AffineOnBothProducts) {
  const Tensor x = randn({9, 70}, 220), w = randn({70, 37}, 221, 0.2f), b = randn({37}, 222);
  std::vector<std::vector<Tensor>> results;
  for (LayerGemm g : available_gemms()) {
    SCOPED_TRACE(layer_gemm_name(g));
    UseGemm use(g);
    mc::testing::expect_gradients_match([&](const std::vector<Var>& v) { return affine(v[0], v[1], v[2]); },
                                        {randn({3, 20}, 223), randn({20, 17}, 224, 0.3f), randn({17}, 225)});
    Var xv(x.clone(), true), wv(w.clone(), true), bv(b.clone(), true);
    Var y = affine(xv, wv, bv);
    y.backward(randn(y.shape(), 226));
    results.push_back({y.value(), xv.grad(), wv.grad(), bv.grad()});
  }
  if (results.size() < 2) return;
  for (size_t i = 0; i < results[0].size(); ++i)
    EXPECT_LT(mc::testing::max_abs_diff(results[1][i], results[0][i]), 1e-4f) << "output " << i << " (y, dx, dW, db)";
}

// The fused LSTM's products (input part, each step's recurrent part, dh through time, dx, dW)
// on both products: gradient checks on each, and the same outputs and gradients on a shape
// wide enough to take several column blocks and row tiles (4H = 80, T B = 21 rows).
TEST(LayerGemm, LstmOnBothProducts) {
  const int64_t T = 7, B = 3, in = 11, H = 20;
  const std::vector<Tensor> inputs{randn({T, B, in}, 230), randn({in + H, 4 * H}, 231, 0.3f), randn({4 * H}, 232, 0.3f),
                                   randn({B, H}, 233, 0.5f), randn({B, H}, 234, 0.5f)};
  const Tensor gout = randn({T, B, H}, 235), gh = randn({B, H}, 236);
  std::vector<std::vector<Tensor>> results;
  for (LayerGemm g : available_gemms()) {
    SCOPED_TRACE(layer_gemm_name(g));
    UseGemm use(g);
    mc::testing::expect_gradients_match(
        [](const std::vector<Var>& v) {
          auto r = lstm_sequence(v[0], v[1], v[2], v[3], v[4]);
          return add(sum(r[0]), sum(mul(r[2], r[2])));
        },
        {randn({3, 2, 4}, 237), randn({4 + 5, 20}, 238, 0.4f), randn({20}, 239, 0.3f), randn({2, 5}, 240, 0.5f),
         randn({2, 5}, 241, 0.5f)});
    std::vector<Var> v;
    for (const Tensor& t : inputs) v.emplace_back(t.clone(), true);
    auto r = lstm_sequence(v[0], v[1], v[2], v[3], v[4]);
    Var loss = add(sum(mul(r[0], Var(gout))), sum(mul(r[1], Var(gh))));
    loss.backward();
    std::vector<Tensor> all{r[0].value().clone(), r[2].value().clone()};
    for (Var& x : v) all.push_back(x.grad());
    results.push_back(all);
  }
  if (results.size() < 2) return;
  const char* names[] = {"outputs", "final c", "dx", "dW", "db", "dh0", "dc0"};
  for (size_t i = 0; i < results[0].size(); ++i) {
    ASSERT_TRUE(results[0][i].defined() && results[1][i].defined()) << names[i];
    EXPECT_LT(mc::testing::max_abs_diff(results[1][i], results[0][i]), 1e-4f) << names[i];
  }
}
