#include <gtest/gtest.h>

#include "matcomp/autograd/ops.h"
#include "matcomp/layers/kernels/affine_op.h"
#include "matcomp/formats/checkpoint.h"
#include "matcomp/layers/modules/dense.h"
#include "matcomp/layers/kernels/softmax_loss.h"
#include "test_layers_util.h"

using namespace mc;
using mc::testing::randn;

TEST(Dense, GradcheckFusedAffine) {
  mc::testing::expect_gradients_match([](const std::vector<Var>& v) { return affine(v[0], v[1], v[2]); },
                                      {randn({4, 3}, 1), randn({3, 5}, 2), randn({5}, 3)});
}

TEST(Dense, ForwardEqualsMatmulPlusBias) {
  Dense d(randn({3, 5}, 4), 0.5f);
  const Tensor x = randn({4, 3}, 5);
  Var y = d.forward(Var(x));
  Var ref = add(matmul(Var(x), d.parameter("weight.A")), d.parameter("bias"));
  EXPECT_LT(mc::testing::max_abs_diff(y.value(), ref.value()), 1e-6f);
  EXPECT_THROW(d.forward(Var(randn({4, 2}, 6))), ShapeError);
}

TEST(Dense, GradcheckThroughModule) {
  Dense d(randn({3, 2}, 7));
  mc::testing::expect_gradients_match([&](const std::vector<Var>& v) { return d.forward(v[0]); }, {randn({4, 3}, 8)});
}

TEST(Dense, FastSoftmaxCrossEntropyMatchesAutograd) {
  const Tensor z = randn({6, 300}, 10, 3.0f);
  const std::vector<int32_t> labels{0, 299, 5, 17, 150, 3};
  Var a(z, true), b(z.clone(), true);
  Var la = softmax_cross_entropy(a, labels), lb = fast_softmax_cross_entropy(b, labels);
  EXPECT_NEAR(la.value().item(), lb.value().item(), 1e-5);
  la.backward();
  lb.backward();
  EXPECT_LT(mc::testing::max_abs_diff(a.grad(), b.grad()), 1e-6f);
  mc::testing::expect_gradients_match([&](const std::vector<Var>& v) { return fast_softmax_cross_entropy(v[0], {2, 0, 4, 1}); },
                                      {randn({4, 5}, 11)});
  EXPECT_THROW(fast_softmax_cross_entropy(Var(z), {0, 1, 2, 3, 4, 300}), ValueError);
}

TEST(Dense, CheckpointRoundTrip) {
  Dense a(randn({3, 4}, 12), 0.25f), b(randn({3, 4}, 13));
  const std::string path = mc::testing::temp_path("dense.safetensors");
  save_checkpoint(path, a, nullptr, 0, nullptr, nullptr);
  apply_checkpoint(read_checkpoint(path), b, nullptr, nullptr, nullptr);
  const Tensor x = randn({2, 3}, 14);
  EXPECT_EQ(mc::testing::max_abs_diff(a.forward(Var(x)).value(), b.forward(Var(x)).value()), 0.0f);
}
