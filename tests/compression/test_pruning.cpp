#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "matcomp/compression/methods/pruning.h"
#include "matcomp/core/error.h"
#include "helpers.h"

using mc_test::gaussian;

TEST(Pruning, KeepsExactlyTheRequestedCountOfLargestMagnitudes) {
  const mc::Tensor a = gaussian(33, 17, 1);  // 561 entries
  mc::PruneSettings s;
  s.sparsity = 0.7;
  mc::Rng rng(0);
  auto c = mc::PruneCompressor(s).compress(a, rng);
  auto* p = dynamic_cast<mc::PrunedMatrix*>(c.get());
  ASSERT_NE(p, nullptr);
  const int64_t keep = 561 - std::llround(0.7 * 561);  // 168
  EXPECT_EQ(p->nnz(), keep);
  const mc::Tensor dense = c->materialize();
  int64_t nonzero = 0;
  float smallest_kept = 1e30f, largest_pruned = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    if (p->mask()[i]) {
      ++nonzero;
      EXPECT_EQ(dense.data()[i], a.data()[i]);
      smallest_kept = std::min(smallest_kept, std::abs(a.data()[i]));
    } else {
      EXPECT_EQ(dense.data()[i], 0.0f);
      largest_pruned = std::max(largest_pruned, std::abs(a.data()[i]));
    }
  }
  EXPECT_EQ(nonzero, keep);
  EXPECT_GE(smallest_kept, largest_pruned);
}

TEST(Pruning, AfterOptimizerStepZeroesPrunedEntriesAgain) {
  mc::PruneSettings s;
  s.sparsity = 0.5;
  mc::Rng rng(0);
  auto c = mc::PruneCompressor(s).compress(gaussian(8, 8, 2), rng);
  auto* p = dynamic_cast<mc::PrunedMatrix*>(c.get());
  mc::Tensor values = c->factors()[0].value;
  for (float& v : values.span()) v += 1.0f;  // an optimizer step that touches everything
  c->after_optimizer_step();
  for (int64_t i = 0; i < 64; ++i)
    if (!p->mask()[i]) EXPECT_EQ(values.data()[i], 0.0f);
    else EXPECT_NE(values.data()[i], 0.0f);
}

TEST(Pruning, UpdateMaskFromScoresAtNewSparsity) {
  mc::PruneSettings s;
  s.sparsity = 0.25;
  mc::Rng rng(0);
  auto c = mc::PruneCompressor(s).compress(gaussian(4, 5, 3), rng);
  auto* p = dynamic_cast<mc::PrunedMatrix*>(c.get());
  mc::Tensor scores = mc::Tensor::empty({4, 5});
  for (int64_t i = 0; i < 20; ++i) scores.data()[i] = static_cast<float>(i);  // keep the last ones
  p->update_mask(scores, 0.8);
  EXPECT_EQ(p->nnz(), 4);
  for (int64_t i = 0; i < 20; ++i) EXPECT_EQ(p->mask()[i], i >= 16 ? 1 : 0);
  EXPECT_THROW(p->update_mask(scores, 1.0), mc::ValueError);
}

TEST(Pruning, StoredSizeByHand) {
  // 10x10, keep 10: bitmap 100 + 320 = 420; coordinates 10 * (32 + 7) = 390 -> 390.
  EXPECT_EQ(mc::pruning_stored_bits(10, 10, 10), 390);
  // keep 50: bitmap 100 + 1600 = 1700 < 50 * 39 = 1950.
  EXPECT_EQ(mc::pruning_stored_bits(10, 10, 50), 1700);
  mc::PruneSettings s;
  s.sparsity = 0.9;
  mc::Rng rng(0);
  EXPECT_EQ(mc::PruneCompressor(s).compress(gaussian(10, 10, 1), rng)->stored_bits(), 390);
}

TEST(Pruning, RefusesBadSparsity) {
  mc::PruneSettings s;
  s.sparsity = 1.0;
  EXPECT_THROW(mc::PruneCompressor{s}, mc::ValueError);
  s.sparsity = -0.1;
  EXPECT_THROW(mc::PruneCompressor{s}, mc::ValueError);
  s.sparsity = 0.0;  // keeps everything: bitmap + values is more than dense
  mc::Rng rng(0);
  try {
    mc::PruneCompressor(s).compress(gaussian(10, 10, 1), rng);
    FAIL();
  } catch (const mc::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("sparsity"), std::string::npos) << e.what();
  }
}

TEST(PruningScore, GradientScoreOnAHandExample) {
  mc::PruningScore score(mc::PruningScore::Kind::Gradient, {1, 3}, 0.5);
  const mc::Tensor w = mc::Tensor::from({1, 3}, {1.0f, -2.0f, 3.0f});
  score.step(w, mc::Tensor::from({1, 3}, {1.0f, 1.0f, 0.0f}));   // |w g| = 1, 2, 0
  score.step(w, mc::Tensor::from({1, 3}, {-2.0f, 0.0f, 1.0f}));  // 0.5 * prev + (2, 0, 3)
  const mc::Tensor s = score.scores(w);
  EXPECT_FLOAT_EQ(s.data()[0], 2.5f);
  EXPECT_FLOAT_EQ(s.data()[1], 1.0f);
  EXPECT_FLOAT_EQ(s.data()[2], 3.0f);
}

TEST(PruningScore, MovementScoreFirstAndSecondOrderOnAHandExample) {
  const mc::Tensor w0 = mc::Tensor::from({1, 2}, {1.0f, 1.0f});
  const mc::Tensor w1 = mc::Tensor::from({1, 2}, {4.0f, 1.0f});   // moves 3, 0
  const mc::Tensor w2 = mc::Tensor::from({1, 2}, {4.0f, 5.0f});   // moves 0, 4
  mc::PruningScore first(mc::PruningScore::Kind::Movement, {1, 2});
  first.mask_update(w0);
  EXPECT_FLOAT_EQ(first.scores(w0).data()[0], 1.0f);  // no history yet: |w|
  first.mask_update(w1);  // delta (3, 0) / 3 = (1, 0): g = 0.01 * (1, 0)
  EXPECT_NEAR(first.estimate().data()[0], 0.01, 1e-7);
  EXPECT_NEAR(first.estimate().data()[1], 0.0, 1e-7);
  first.mask_update(w2);  // delta (0, 4) / 4 = (0, 1): g = (0.0099, 0.01)
  EXPECT_NEAR(first.estimate().data()[0], 0.0099, 1e-7);
  EXPECT_NEAR(first.estimate().data()[1], 0.01, 1e-7);
  const mc::Tensor s = first.scores(w2);  // |w| * g
  EXPECT_NEAR(s.data()[0], 4 * 0.0099, 1e-6);
  EXPECT_NEAR(s.data()[1], 5 * 0.01, 1e-6);

  mc::PruningScore second(mc::PruningScore::Kind::Movement, {1, 2}, 0.99, 2);
  second.mask_update(w0);
  second.mask_update(w1);
  EXPECT_EQ(second.estimate().data()[0], 0.0f);  // needs two snapshots before it moves
  second.mask_update(w2);  // |w2 + w0 - 2 w1| = |(4+1-8), (5+1-2)| = (3, 4), norm 5
  EXPECT_NEAR(second.estimate().data()[0], 0.01 * 3 / 5, 1e-7);
  EXPECT_NEAR(second.estimate().data()[1], 0.01 * 4 / 5, 1e-7);
}

TEST(Pruning, Gradients) {
  mc::PruneSettings s;
  s.sparsity = 0.6;
  mc::Rng rng(0);
  auto c = mc::PruneCompressor(s).compress(gaussian(12, 9, 5), rng);
  mc_test::check_method(*c, 16);
}

// The mask passes on a matrix large enough to be split over the threads, against their
// definitions, bit for bit: materialize is the values where kept and 0 elsewhere (even when
// something wrote into pruned entries since the last optimizer step), the gradient adds only
// into kept entries, and after_optimizer_step zeroes exactly the pruned ones.
TEST(Pruning, MaskPassesMatchTheirDefinitionsBitForBit) {
  const int64_t m = 300, n = 400;
  mc::PruneSettings s;
  s.sparsity = 0.78;
  mc::Rng rng(0);
  auto c = mc::PruneCompressor(s).compress(gaussian(m, n, 3), rng);
  auto* p = dynamic_cast<mc::PrunedMatrix*>(c.get());
  ASSERT_NE(p, nullptr);
  mc::Tensor values = c->factors()[0].value;
  const mc::Tensor noise = gaussian(m, n, 4);
  for (int64_t i = 0; i < m * n; ++i) values.data()[i] += noise.data()[i];  // pruned entries too
  const mc::Tensor before = values.clone();

  const mc::Tensor dense = c->materialize();
  const mc::Tensor d = gaussian(m, n, 5), start = gaussian(m, n, 6);
  std::vector<mc::Tensor> grads{start.clone()};
  c->materialize_backward(d, grads);
  int64_t kept = 0, wrong_dense = 0, wrong_grad = 0;
  for (int64_t i = 0; i < m * n; ++i) {
    const bool keep = p->mask()[static_cast<size_t>(i)] != 0;
    kept += keep;
    wrong_dense += dense.data()[i] != (keep ? before.data()[i] : 0.0f);
    wrong_grad += grads[0].data()[i] != (keep ? start.data()[i] + d.data()[i] : start.data()[i]);
  }
  EXPECT_EQ(wrong_dense, 0);
  EXPECT_EQ(wrong_grad, 0);
  EXPECT_EQ(kept, p->nnz());
  EXPECT_GT(kept, 0);
  EXPECT_LT(kept, m * n);

  // The product's backward hands its own x^T dy over as the values' first gradient (masked in
  // place): the same bits as materialize_backward of that product into nothing.
  const mc::Tensor x = gaussian(7, m, 8), dy = gaussian(7, n, 9);
  std::vector<mc::Tensor> taken, added;
  c->multiply_backward(x, dy, nullptr, taken);
  c->materialize_backward(mc::matmul(x, dy, mc::Trans::Yes, mc::Trans::No), added);
  ASSERT_TRUE(taken[0].defined() && added[0].defined());
  EXPECT_EQ(taken[0].shape(), added[0].shape());
  EXPECT_EQ(std::memcmp(taken[0].data(), added[0].data(), sizeof(float) * static_cast<size_t>(m * n)), 0);

  int64_t pruned = 0;
  while (p->mask()[static_cast<size_t>(pruned)]) ++pruned;
  values.data()[pruned] = -0.0f;  // a -0 in a pruned entry is written as +0 too
  const uint64_t version = values.version();
  c->after_optimizer_step();
  EXPECT_FALSE(std::signbit(values.data()[pruned]));
  EXPECT_GT(values.version(), version);
  int64_t wrong_values = 0;
  for (int64_t i = 0; i < m * n; ++i)
    wrong_values += values.data()[i] != (p->mask()[static_cast<size_t>(i)] ? before.data()[i] : 0.0f);
  EXPECT_EQ(wrong_values, 0);
}
