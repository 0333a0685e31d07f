// k-means weight sharing: A (m, n) is cut into blocks of `block` consecutive entries of a row
// (block 1: scalar quantisation); each block is replaced by the nearest of `levels` codebook
// vectors. Product: a gather (materialize) then one sgemm. The codebook trains (its gradient
// sums dÂ over the entries that use each code); the codes are fixed.
#pragma once

#include <memory>

#include "matcomp/compression/matrix_compressor.h"

namespace mc {

class KMeansMatrix final : public CompressedMatrix {
 public:
  // codebook (levels, block); codes: one per block, row-major over (m, n / block).
  KMeansMatrix(int64_t m, int64_t n, Tensor codebook, std::vector<int32_t> codes);

  std::string method() const override { return "kmeans"; }
  int64_t rows() const override { return m_; }
  int64_t cols() const override { return n_; }
  int64_t levels() const { return codebook_.size(0); }
  int64_t block() const { return codebook_.size(1); }
  // The codebook's learning rate is scaled by 1 / (blocks per centroid), see Factor::lr_scale.
  std::vector<Factor> factors() const override;
  nlohmann::json settings() const override;
  Tensor materialize() const override;
  void materialize_backward(const Tensor& d_dense, std::vector<Tensor>& factor_grads) const override;
  // The default product, through Â: the autograd ops keep the Â of the forward for the
  // backward, and y starts at the bias, which the sgemm then adds into (no pass over y).
  bool multiplies_through_dense(int64_t) const override { return true; }
  // levels * block float32 + one ceil(log2(levels))-bit code per block.
  int64_t stored_bits() const override;
  std::map<std::string, NpyArray> integer_state() const override;
  const std::vector<int32_t>& codes() const { return codes_; }

 private:
  int64_t m_, n_;
  Tensor codebook_;
  std::vector<int32_t> codes_;
};

struct KMeansSettings {
  int64_t levels = 0;
  int64_t block = 1;
  int iters = 0;              // Lloyd iterations at most; 0: 300 for block 1, 50 otherwise
  int restarts = 0;           // seeded k-means++ starts, best inertia kept; 0: 4 for block 1, 1 otherwise
  // The reference's rule: the centroid nearest zero becomes exactly 0. Applied with 3 or more
  // levels only: with 2 it would leave a single non-zero level, zeroing every weight of one sign.
  bool zero_centroid = true;
};

// Lloyd's 1-D k-means on `values` (sorted internally): k-means++ init and Lloyd iterations that
// work on the sorted values, where every cluster is a contiguous range found by binary search
// and every centroid is a difference of prefix sums, so an iteration costs O(levels log N).
// Returns the sorted centroids (size levels; duplicates when there are fewer distinct values).
std::vector<float> kmeans_1d(const float* values, int64_t count, int64_t levels, int iters, int restarts, Rng& rng);

// Optimal 1-D k-means: the sorted centroids (size levels) of the partition of `values` into
// `levels` clusters with the least inertia. Sorted distinct values with counts, then dynamic
// programming over levels (clusters of sorted values are contiguous ranges, each one's cost a
// difference of prefix sums) with the monotone-split divide and conquer: O(levels U log U)
// time and levels (U + 1) int32 of splits for U distinct values. Duplicates pad the result
// when there are fewer distinct values than levels.
std::vector<float> kmeans_1d_optimal(const float* values, int64_t count, int64_t levels);

// Scalar k-means (block 1) is solved optimally by kmeans_1d_optimal when levels * values is
// at most this, by kmeans_1d (Lloyd, 4 seeded starts) above it. The divide and conquer costs
// ~levels * U * log2(U) prefix-sum evaluations: on 2304x384 values, 16 levels took 12-21x
// Lloyd's time (3.4-7.3 s against 0.25-0.35 s, single-threaded on the busy shared machine)
// and 256 levels 57-169 s and 0.9 GB of splits. The budget (2^24: 64 MB of splits, a few
// seconds once per compression event) covers 2304x384 up to 18 levels, 384x192 up to 227,
// 200x800 up to 104. Lloyd's excess inertia there is small (+5e-6..1e-5 at 16 levels on
// 2304x384), larger beyond it (+2.5e-4..3.6e-4 at 32, +1.3e-2..1.7e-2 at 256).
inline constexpr double kOptimal1dBudget = 16777216.0;  // 2^24

class KMeansCompressor final : public MatrixCompressor {
 public:
  explicit KMeansCompressor(KMeansSettings settings);
  std::string method() const override { return "kmeans"; }
  std::unique_ptr<CompressedMatrix> compress(const Tensor& a, Rng& rng) const override;
  double ratio_for(int64_t m, int64_t n) const override;
  const KMeansSettings& settings() const { return s_; }

 private:
  KMeansSettings s_;
};

int64_t kmeans_stored_bits(int64_t m, int64_t n, int64_t levels, int64_t block);

// Blocks per chunk of KMeansMatrix::materialize_backward's threaded scatter for a codebook of
// `entries` floats: fixed by the shapes, not the thread count, so the gradient's bits are too.
int64_t kmeans_scatter_chunk(int64_t entries);

}  // namespace mc
