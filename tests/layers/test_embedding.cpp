#include <gtest/gtest.h>

#include "matcomp/autograd/ops.h"
#include "matcomp/formats/checkpoint.h"
#include "matcomp/layers/modules/embedding.h"
#include "test_layers_util.h"

using namespace mc;
using mc::testing::randn;

TEST(Embedding, LooksUpRowsThroughTheWeightSeam) {
  Embedding e(randn({6, 3}, 1));
  EXPECT_TRUE(e.has_parameter("weight.A"));
  Var out = e.forward({4, 0, 4});
  ASSERT_EQ(out.shape(), (Shape{3, 3}));
  const Tensor& t = e.parameter("weight.A").value();
  for (int j = 0; j < 3; ++j) {
    EXPECT_EQ(out.value().data()[j], t.data()[4 * 3 + j]);
    EXPECT_EQ(out.value().data()[3 + j], t.data()[j]);
  }
  EXPECT_THROW(e.forward({6}), ValueError);
}

TEST(Embedding, Gradcheck) {
  Embedding e(randn({5, 4}, 2));
  mc::testing::expect_gradients_match(
      [&](const std::vector<Var>& v) {
        e.parameter("weight.A").value().copy_from(v[0].value());
        return embedding(v[0], {3, 1, 3, 0});  // the op Embedding::forward runs on weight()->dense()
      },
      {randn({5, 4}, 3)});
  // The module's backward reaches the registered parameter, repeated ids accumulating.
  Var out = e.forward({2, 2});
  sum(out).backward();
  const Tensor& g = e.parameter("weight.A").grad();
  EXPECT_EQ(g.data()[2 * 4], 2.0f);
  EXPECT_EQ(g.data()[0], 0.0f);
}

TEST(Embedding, CheckpointRoundTrip) {
  Rng rng(4);
  Embedding a(7, 3, 0.1f, rng), b(7, 3, 0.1f, rng);
  const std::string path = mc::testing::temp_path("embedding.safetensors");
  save_checkpoint(path, a, nullptr, 0, nullptr, nullptr);
  apply_checkpoint(read_checkpoint(path), b, nullptr, nullptr, nullptr);
  EXPECT_EQ(mc::testing::max_abs_diff(a.forward({1, 6}).value(), b.forward({1, 6}).value()), 0.0f);
}
