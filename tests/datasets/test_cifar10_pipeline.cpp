// The CIFAR-10 input pipeline: the fused transform against a step-by-step reference, exact
// centre crop and flip, output statistics, and the loader's determinism and epochs.
#include <gtest/gtest.h>

#include <algorithm>

#include <chrono>
#include <cmath>
#include <thread>

#include "matcomp/core/error.h"
#include "matcomp/core/rng.h"
#include "matcomp/datasets/cifar10_augment.h"
#include "matcomp/datasets/cifar10_loader.h"
#include "test_support.h"

using namespace mc::data;
using namespace mc::data::testing;

namespace {

Cifar10Split generated_split(int64_t n, uint64_t seed) {
  Cifar10Split s;
  parse_cifar10(make_cifar_records(n, seed), "generated", s);
  return s;
}

// The reference pipeline written out step by step, in float as TensorFlow does it.
std::vector<float> reference_transform(const uint8_t* img, const AugmentParams& p) {
  const int S = 24;
  std::vector<float> x(3 * S * S);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < S; ++y)
      for (int k = 0; k < S; ++k) {
        const int src_x = p.flip ? p.x0 + S - 1 - k : p.x0 + k;
        x[(c * S + y) * S + k] = img[(c * 32 + p.y0 + y) * 32 + src_x];
      }
  for (float& v : x) v += p.brightness;
  for (int c = 0; c < 3; ++c) {
    float mean = 0;
    for (int i = 0; i < S * S; ++i) mean += x[c * S * S + i];
    mean /= S * S;
    for (int i = 0; i < S * S; ++i) x[c * S * S + i] = (x[c * S * S + i] - mean) * p.contrast + mean;
  }
  float mean = 0, var = 0;
  for (float v : x) mean += v;
  mean /= static_cast<float>(x.size());
  for (float v : x) var += (v - mean) * (v - mean);
  const float sd = std::max(std::sqrt(var / static_cast<float>(x.size())), 1.0f / std::sqrt(static_cast<float>(x.size())));
  for (float& v : x) v = (v - mean) / sd;
  return x;
}

std::vector<float> take(const mc::Tensor& t) { return std::vector<float>(t.data(), t.data() + t.numel()); }

}  // namespace

TEST(Cifar10Augment, FusedTransformMatchesStepByStepReference) {
  const Cifar10Split s = generated_split(40, 9);
  mc::Rng rng(3);
  std::vector<float> out(kCropPixels);
  for (int64_t i = 0; i < s.size(); ++i) {
    const AugmentParams p = sample_augment(rng);
    transform_image(s.image(i), p, out.data());
    const std::vector<float> ref = reference_transform(s.image(i), p);
    for (int64_t k = 0; k < kCropPixels; ++k) ASSERT_NEAR(out[k], ref[k], 2e-4) << "image " << i << " value " << k;
  }
}

TEST(Cifar10Augment, EvalIsTheExactStandardizedCentreCrop) {
  // Every pixel different, so a crop shifted by one or a channel mixup shows.
  std::vector<uint8_t> img(kCifarImageBytes);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32; ++x) img[(c * 32 + y) * 32 + x] = static_cast<uint8_t>(c * 70 + y * 3 + (x * 5) % 7);
  double mean = 0, sq = 0;
  for (int c = 0; c < 3; ++c)
    for (int y = 4; y < 28; ++y)
      for (int x = 4; x < 28; ++x) mean += img[(c * 32 + y) * 32 + x];
  mean /= 1728;
  for (int c = 0; c < 3; ++c)
    for (int y = 4; y < 28; ++y)
      for (int x = 4; x < 28; ++x) sq += (img[(c * 32 + y) * 32 + x] - mean) * (img[(c * 32 + y) * 32 + x] - mean);
  const double sd = std::sqrt(sq / 1728);

  std::vector<float> out(kCropPixels);
  transform_image(img.data(), eval_params(), out.data());
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 24; ++y)
      for (int x = 0; x < 24; ++x)
        ASSERT_NEAR(out[(c * 24 + y) * 24 + x], (img[(c * 32 + y + 4) * 32 + x + 4] - mean) / sd, 1e-5)
            << c << "," << y << "," << x;
}

TEST(Cifar10Augment, FlipMirrorsColumns) {
  const Cifar10Split s = generated_split(1, 4);
  AugmentParams p;
  p.y0 = 2;
  p.x0 = 7;
  std::vector<float> plain(kCropPixels), flipped(kCropPixels);
  transform_image(s.image(0), p, plain.data());
  p.flip = true;
  transform_image(s.image(0), p, flipped.data());
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 24; ++y)
      for (int x = 0; x < 24; ++x) ASSERT_EQ(flipped[(c * 24 + y) * 24 + x], plain[(c * 24 + y) * 24 + 23 - x]);
}

TEST(Cifar10Augment, ConstantImageUsesTheStdFloorInsteadOfDividingByZero) {
  std::vector<uint8_t> img(kCifarImageBytes, 77);
  std::vector<float> out(kCropPixels, -1.0f);
  transform_image(img.data(), eval_params(), out.data());
  for (float v : out) ASSERT_NEAR(v, 0.0f, 1e-6f);
}

TEST(Cifar10Augment, DrawsCoverTheDocumentedRanges) {
  mc::Rng rng(11);
  int crop_seen[9] = {}, flips = 0;
  float bmin = 1e9f, bmax = -1e9f, cmin = 1e9f, cmax = -1e9f;
  for (int i = 0; i < 20000; ++i) {
    const AugmentParams p = sample_augment(rng);
    ASSERT_GE(p.y0, 0);
    ASSERT_LE(p.y0, 8);
    ASSERT_GE(p.x0, 0);
    ASSERT_LE(p.x0, 8);
    ++crop_seen[p.x0];
    flips += p.flip;
    bmin = std::min(bmin, p.brightness), bmax = std::max(bmax, p.brightness);
    cmin = std::min(cmin, p.contrast), cmax = std::max(cmax, p.contrast);
  }
  for (int k = 0; k < 9; ++k) EXPECT_GT(crop_seen[k], 1900) << "offset " << k;
  EXPECT_NEAR(flips, 10000, 400);
  EXPECT_GE(bmin, -63.0f);
  EXPECT_LT(bmin, -62.0f);
  EXPECT_LT(bmax, 63.0f);
  EXPECT_GT(bmax, 62.0f);
  EXPECT_GE(cmin, 0.2f);
  EXPECT_LT(cmin, 0.21f);
  EXPECT_LT(cmax, 1.8f);
  EXPECT_GT(cmax, 1.79f);
}

TEST(Cifar10Loader, StandardizedBatchHasZeroMeanUnitStdPerImage) {
  const bool real = !real_data_dir().empty();
  const Cifar10Split gen = real ? Cifar10Split{} : generated_split(256, 5);
  const Cifar10Split& split = real ? real_cifar(Cifar10Part::Train) : gen;
  for (bool augment : {true, false}) {
    Cifar10Loader loader(split, 128, augment, 1);
    mc::Tensor x;
    std::vector<int32_t> y;
    ASSERT_TRUE(loader.next(x, y));
    ASSERT_EQ(x.shape(), (mc::Shape{128, 3, 24, 24}));
    ASSERT_EQ(y.size(), 128u);
    for (int64_t i = 0; i < 128; ++i) {
      double m = 0, q = 0;
      const float* p = x.data() + i * kCropPixels;
      for (int64_t k = 0; k < kCropPixels; ++k) m += p[k];
      m /= kCropPixels;
      for (int64_t k = 0; k < kCropPixels; ++k) q += (p[k] - m) * (p[k] - m);
      EXPECT_NEAR(m, 0.0, 1e-4) << "image " << i;
      EXPECT_NEAR(std::sqrt(q / kCropPixels), 1.0, 1e-3) << "image " << i;
      EXPECT_GE(y[i], 0);
      EXPECT_LT(y[i], 10);
    }
  }
}

TEST(Cifar10Loader, FollowsTheDocumentedRngScheme) {
  const Cifar10Split s = generated_split(300, 6);
  Cifar10Loader loader(s, 100, true, 42);
  // Epoch 1 (the second) draws its permutation, then the augmentations, from Rng(42).split(1).
  mc::Tensor x;
  std::vector<int32_t> y;
  while (loader.next(x, y)) {
  }
  mc::Rng rng = mc::Rng(42).split(1);
  const std::vector<int64_t> order = rng.permutation(300);
  std::vector<float> expected(100 * kCropPixels);
  std::vector<int32_t> labels(100);
  for (int b = 0; b < 3; ++b) {
    assemble_batch(s, std::span<const int64_t>(order).subspan(b * 100, 100), true, rng, expected.data(), labels.data());
    ASSERT_TRUE(loader.next(x, y));
    EXPECT_EQ(take(x), expected) << "batch " << b;
    EXPECT_EQ(y, labels) << "batch " << b;
  }
}

TEST(Cifar10Loader, SameSeedSameBatchesWhateverTheTiming) {
  const Cifar10Split s = generated_split(200, 7);
  auto run = [&](uint64_t seed, bool slow_consumer) {
    Cifar10Loader loader(s, 32, true, seed, 3);
    std::vector<std::vector<float>> batches;
    mc::Tensor x;
    std::vector<int32_t> y;
    for (int epoch = 0; epoch < 2; ++epoch)
      while (loader.next(x, y)) {
        batches.push_back(take(x));
        if (slow_consumer) std::this_thread::sleep_for(std::chrono::milliseconds(batches.size() % 3));
      }
    return batches;
  };
  const auto a = run(5, false), b = run(5, true), c = run(6, false);
  ASSERT_EQ(a.size(), 12u);  // 2 epochs of 200 / 32 = 6 full batches
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a == c);
  EXPECT_FALSE(a[0] == a[6]);  // a new shuffle and new draws in the second epoch
}

TEST(Cifar10Loader, EvalKeepsOrderAndTheLastPartialBatch) {
  const Cifar10Split s = generated_split(300, 8);
  Cifar10Loader loader(s, 128, false, 0);
  EXPECT_EQ(loader.batches_per_epoch(), 3);
  mc::Tensor x;
  std::vector<int32_t> y;
  for (int pass = 0; pass < 2; ++pass) {
    std::vector<int32_t> all;
    std::vector<int64_t> sizes;
    while (loader.next(x, y)) {
      sizes.push_back(x.size(0));
      all.insert(all.end(), y.begin(), y.end());
    }
    EXPECT_EQ(sizes, (std::vector<int64_t>{128, 128, 44}));
    EXPECT_EQ(all, std::vector<int32_t>(s.labels.begin(), s.labels.end()));
    EXPECT_EQ(loader.epochs_completed(), pass + 1);
  }
  // The last batch's last image is the split's last, centre-cropped.
  std::vector<float> expected(kCropPixels);
  transform_image(s.image(299), eval_params(), expected.data());
  EXPECT_EQ(std::vector<float>(x.data() + 43 * kCropPixels, x.data() + 44 * kCropPixels), expected);
}

TEST(Cifar10Loader, TrainingDropsThePartialBatchAndRejectsOversizedBatches) {
  const Cifar10Split s = generated_split(300, 8);
  Cifar10Loader loader(s, 128, true, 0);
  EXPECT_EQ(loader.batches_per_epoch(), 2);
  EXPECT_THROW({ Cifar10Loader big(s, 301, true, 0); }, mc::ValueError);
  EXPECT_THROW({ Cifar10Loader zero(s, 0, false, 0); }, mc::ValueError);
}

TEST(Cifar10Loader, ResumesAtAnyBatchBitIdentically) {
  const Cifar10Split s = generated_split(200, 8);
  auto batches_from = [&](int64_t start, size_t count) {
    Cifar10Loader loader(s, 32, true, 9, 2, start);
    std::vector<std::vector<float>> out;
    mc::Tensor x;
    std::vector<int32_t> y;
    while (out.size() < count)
      if (loader.next(x, y)) out.push_back(take(x));  // end-of-epoch markers are not batches
    return out;
  };
  const auto all = batches_from(0, 15);  // 6 batches an epoch: crosses two epoch boundaries
  for (int64_t start : {1, 5, 6, 8, 13}) {
    const auto resumed = batches_from(start, 15 - static_cast<size_t>(start));
    for (size_t i = 0; i < resumed.size(); ++i)
      EXPECT_EQ(resumed[i], all[static_cast<size_t>(start) + i]) << "start " << start << ", batch " << i;
  }
  EXPECT_THROW(Cifar10Loader(s, 32, true, 9, 2, -1), mc::ValueError);
}

// Data parallelism: a loader for examples [begin, end) of every batch gives exactly those rows
// of the whole batch, augmentation included, also when resumed and across epochs.
TEST(Cifar10Loader, ShareOfEveryBatchEqualsThoseRowsOfTheWholeBatch) {
  const Cifar10Split s = generated_split(200, 8);
  const int64_t row = 3 * 24 * 24;
  auto batches = [&](int64_t start, mc::data::ExampleRange share, std::vector<std::vector<int32_t>>* labels) {
    Cifar10Loader loader(s, 32, true, 9, 2, start, share);
    std::vector<std::vector<float>> out;
    mc::Tensor x;
    std::vector<int32_t> y;
    while (out.size() < 8)
      if (loader.next(x, y)) out.push_back(take(x)), labels->push_back(y);
    return out;
  };
  std::vector<std::vector<int32_t>> whole_labels, part_labels;
  const auto whole = batches(3, {}, &whole_labels);
  const auto part = batches(3, {10, 21}, &part_labels);
  for (size_t b = 0; b < whole.size(); ++b) {
    ASSERT_EQ(part[b].size(), static_cast<size_t>(11 * row));
    EXPECT_TRUE(std::equal(part[b].begin(), part[b].end(), whole[b].begin() + 10 * row)) << "batch " << b;
    EXPECT_TRUE(std::equal(part_labels[b].begin(), part_labels[b].end(), whole_labels[b].begin() + 10)) << "batch " << b;
  }
  EXPECT_THROW(Cifar10Loader(s, 32, true, 9, 2, 0, {20, 20}), mc::ValueError);  // empty
  EXPECT_THROW(Cifar10Loader(s, 32, true, 9, 2, 0, {0, 33}), mc::ValueError);   // past the batch
}
