// Cifar10Loader: batches for training or evaluation, prepared by a background thread while the
// caller trains on the previous one.
//
//   Cifar10Loader loader(train, 128, /*augment=*/true, /*seed=*/1);
//   Tensor x;                      // (128, 3, 24, 24) float32, NCHW
//   std::vector<int32_t> y;        // (128)
//   while (loader.next(x, y)) { ... }   // one epoch; the next loop runs the next epoch
//
// Reproducible from the seed whatever the timing: one producer thread makes the batches in
// order, and epoch e draws its shuffle and augmentations from Rng(seed).split(e) alone.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "matcomp/core/tensor.h"
#include "matcomp/datasets/cifar10.h"

namespace mc::data {

// Which examples of every batch a loader decodes and augments, [begin, end) (end < 0: to the
// end). Data parallelism: each rank builds only its share of the global batch.
struct ExampleRange {
  int64_t begin = 0, end = -1;
};

class Cifar10Loader {
 public:
  // `split` must outlive the loader. augment = true: the training pipeline, a new shuffle
  // every epoch, the last partial batch dropped. augment = false: evaluation, dataset order,
  // centre crop, the last batch smaller when batch does not divide the split.
  // prefetch: how many batches may wait ready (memory: prefetch * batch * 6.9 KB).
  // start_batch: resume as if that many batches (counted over all epochs, end-of-epoch
  // markers not included) had already been taken: the next batch is bit-identical to the one
  // an uninterrupted loader would give then. Skipped batches cost only their random draws.
  // share: only those examples of each batch are returned; the random draws are the whole
  // batch's, so they equal the same rows of the whole batch.
  Cifar10Loader(const Cifar10Split& split, int64_t batch, bool augment, uint64_t seed, int prefetch = 2,
                int64_t start_batch = 0, ExampleRange share = {});
  ~Cifar10Loader();
  Cifar10Loader(const Cifar10Loader&) = delete;
  Cifar10Loader& operator=(const Cifar10Loader&) = delete;

  // The next batch into images (n, 3, 24, 24) and labels (n). Returns false, with both left
  // as they were, when the current epoch is exhausted; the call after that starts the next
  // epoch. Rethrows an error raised by the producer.
  bool next(Tensor& images, std::vector<int32_t>& labels);

  int64_t batches_per_epoch() const;
  int64_t epochs_completed() const;  // how many times next() has returned false (counting skipped epochs)

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace mc::data
