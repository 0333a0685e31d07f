#include <gtest/gtest.h>

#include "matcomp/autograd/ops.h"
#include "matcomp/formats/checkpoint.h"
#include "matcomp/layers/modules/dropout.h"
#include "test_layers_util.h"

using namespace mc;
using mc::testing::randn;

TEST(Dropout, GradcheckWithFixedMask) {
  Dropout d(0.5f, nullptr, 7);
  const Tensor mask = d.make_mask({4, 5});
  mc::testing::expect_gradients_match([&](const std::vector<Var>& v) { return apply_mask(v[0], mask); }, {randn({4, 5}, 1)});
}

TEST(Dropout, InvertedScalingAndEvalIdentity) {
  Dropout d(0.25f, nullptr, 3);
  const Tensor x = Tensor::ones({100, 100});
  Var y = d.forward(Var(x));
  int64_t zeros = 0;
  double total = 0;
  for (float v : y.value().span()) {
    if (v == 0.0f) ++zeros;
    else EXPECT_FLOAT_EQ(v, 1.0f / 0.75f);
    total += v;
  }
  EXPECT_NEAR(static_cast<double>(zeros) / 1e4, 0.25, 0.03);
  EXPECT_NEAR(total / 1e4, 1.0, 0.05);  // expectation preserved
  d.train(false);
  Var z = d.forward(Var(x));
  EXPECT_TRUE(z.value().same_storage(x));
  EXPECT_THROW(Dropout(1.0f), ValueError);
}

TEST(Dropout, CallersRngMakesMasksReproducible) {
  Rng rng(11);
  Dropout d(0.5f, &rng);
  const Rng::State s = rng.state();
  const Tensor m1 = d.make_mask({50});
  rng.set_state(s);
  const Tensor m2 = d.make_mask({50});
  EXPECT_EQ(mc::testing::max_abs_diff(m1, m2), 0.0f);
}

TEST(Dropout, CheckpointRoundTrip) {
  // No parameters: the file round-trips an empty model, and the Rng that draws the masks.
  Rng rng(12), restored(99);
  Dropout a(0.5f, &rng), b(0.5f, &restored);
  const std::string path = mc::testing::temp_path("dropout.safetensors");
  save_checkpoint(path, a, nullptr, 0, &rng, nullptr);
  apply_checkpoint(read_checkpoint(path), b, nullptr, &restored, nullptr);
  EXPECT_EQ(mc::testing::max_abs_diff(a.make_mask({64}), b.make_mask({64})), 0.0f);
}
