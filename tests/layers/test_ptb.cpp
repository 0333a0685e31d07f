// The reference PTB model: structure, names, and that it learns a short repeated text.
#include <gtest/gtest.h>

#include <cmath>

#include "matcomp/autograd/ops.h"
#include "matcomp/formats/checkpoint.h"
#include "matcomp/layers/models/ptb_lstm.h"
#include "matcomp/layers/optim/adam.h"
#include "matcomp/layers/optim/sgd.h"
#include "matcomp/layers/kernels/softmax_loss.h"
#include "test_layers_util.h"

using namespace mc;

TEST(PtbLstm, ConfigsAndNames) {
  const PtbLstmConfig m = PtbLstmConfig::medium();
  EXPECT_EQ(m.hidden, 650);
  EXPECT_EQ(m.unroll, 35);
  EXPECT_EQ(m.dropout, 0.5f);
  EXPECT_EQ(m.init_scale, 0.05f);
  PtbLstmConfig c;
  c.vocab = 40;
  c.hidden = 6;
  c.batch = 2;
  Rng rng(1);
  PtbLstm model(c, rng);
  std::vector<std::string> names;
  for (auto& [name, p] : model.named_parameters()) {
    names.push_back(name);
    for (float v : p.value().span()) ASSERT_LE(std::fabs(v), c.init_scale) << name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"embedding.weight.A", "lstm.layer0.bias", "lstm.layer0.weight.A",
                                             "lstm.layer1.bias", "lstm.layer1.weight.A", "softmax.bias",
                                             "softmax.weight.A"}));
  EXPECT_EQ(model.parameter("lstm.layer0.weight.A").shape(), (Shape{12, 24}));
  EXPECT_EQ(model.parameter("softmax.weight.A").shape(), (Shape{6, 40}));
  LstmState state;
  Var logits = model.forward(std::vector<int32_t>(3 * 2, 7), state);
  EXPECT_EQ(logits.shape(), (Shape{6, 40}));
  EXPECT_EQ(state.h.size(), 2u);
  EXPECT_THROW(model.forward(std::vector<int32_t>(3, 1), state), ShapeError);
}

TEST(PtbLstm, LossFallsOnRepeatedText) {
  PtbLstmConfig c;
  c.vocab = 50;
  c.hidden = 32;
  c.unroll = 10;
  c.batch = 4;
  Rng rng(2);
  PtbLstm model(c, rng);
  Adam opt(model, 0.01f);
  // A 23-token "sentence" repeated; batch row b reads it from offset 5 b.
  std::vector<int32_t> text;
  for (int i = 0; i < 23; ++i) text.push_back((i * 17 + 3) % 50);
  LstmState state;
  float first = 0, last = 0;
  for (int step = 0; step < 300; ++step) {
    std::vector<int32_t> ids, targets;
    for (int64_t t = 0; t < c.unroll; ++t)
      for (int64_t b = 0; b < c.batch; ++b) {
        const int64_t pos = step * c.unroll + t + 5 * b;
        ids.push_back(text[static_cast<size_t>(pos % 23)]);
        targets.push_back(text[static_cast<size_t>((pos + 1) % 23)]);
      }
    Var loss = fast_softmax_cross_entropy(model.forward(ids, state), targets);
    opt.zero_grad();
    loss.backward();
    clip_grad_norm(model, 5.0f);
    opt.step();
    if (step == 0) first = loss.value().item();
    last = loss.value().item();
  }
  EXPECT_NEAR(first, std::log(50.0f), 0.1f);
  EXPECT_LT(last, 0.2f) << "first " << first;
}

TEST(PtbLstm, CheckpointRoundTrip) {
  PtbLstmConfig c;
  c.vocab = 20;
  c.hidden = 5;
  c.batch = 2;
  Rng r1(3), r2(4);
  PtbLstm a(c, r1), b(c, r2);
  const std::string path = mc::testing::temp_path("ptb.safetensors");
  save_checkpoint(path, a, nullptr, 0, nullptr, nullptr);
  apply_checkpoint(read_checkpoint(path), b, nullptr, nullptr, nullptr);
  LstmState sa, sb;
  const std::vector<int32_t> ids{1, 2, 3, 4, 19, 0};
  EXPECT_EQ(mc::testing::max_abs_diff(a.forward(ids, sa).value(), b.forward(ids, sb).value()), 0.0f);
}
