// Pruning: A (m, n) ~ A .* M with a fixed 0/1 mask M. The values (m, n) train; after every
// optimizer step the pruned entries are zeroed again (momentum must not revive them). The
// mask can be recomputed from scores at a new sparsity (gradual pruning: the scheduler calls
// update_mask at each mask update).
#pragma once

#include <map>
#include <memory>

#include "matcomp/compression/matrix_compressor.h"

namespace mc {

// Number of entries kept at sparsity s of `total` entries: total - round(s * total).
int64_t kept_count(int64_t total, double sparsity);

// Mask (0/1 bytes) that keeps the `keep` largest scores; ties go to the lower flat index.
std::vector<uint8_t> top_k_mask(const float* scores, int64_t count, int64_t keep);

// Stored bits of nnz kept values in an m x n matrix: the cheaper of a bitmap (m n bits + 32 per
// value) and a coordinate list (32 + ceil(log2(m n)) bits per value).
int64_t pruning_stored_bits(int64_t m, int64_t n, int64_t nnz);

class PrunedMatrix final : public CompressedMatrix {
 public:
  PrunedMatrix(Tensor values, std::vector<uint8_t> mask);  // values (m, n), zeroed off the mask

  std::string method() const override { return "prune"; }
  int64_t rows() const override { return values_.size(0); }
  int64_t cols() const override { return values_.size(1); }
  std::vector<Factor> factors() const override { return {{"values", values_, true}}; }
  nlohmann::json settings() const override;
  Tensor materialize() const override;
  void materialize_backward(const Tensor& d_dense, std::vector<Tensor>& factor_grads) const override;
  // The default product, through Â: the autograd ops keep the Â of the forward for the
  // backward, and y starts at the bias, which the sgemm then adds into (no pass over y).
  bool multiplies_through_dense(int64_t) const override { return true; }
  int64_t stored_bits() const override { return pruning_stored_bits(rows(), cols(), nnz()); }
  std::map<std::string, NpyArray> integer_state() const override;
  void after_optimizer_step() override;

  int64_t nnz() const { return nnz_; }
  double sparsity() const { return 1.0 - static_cast<double>(nnz_) / static_cast<double>(values_.numel()); }
  const std::vector<uint8_t>& mask() const { return mask_; }
  // Keep the entries of largest score (m, n) at the new sparsity, in [0, 1). Entries that come
  // back into the mask restart from zero.
  void update_mask(const Tensor& scores, double sparsity);

 protected:
  // The first gradient of the values is dÂ with the pruned entries zeroed, in place.
  void materialize_backward_taking(Tensor d_dense, std::vector<Tensor>& factor_grads) const override;

 private:
  Tensor values_;
  std::vector<uint8_t> mask_;
  int64_t nnz_ = 0;
};

// Scores for choosing what to prune, fed once per training step.
//   magnitude: |w|.
//   gradient:  sum over steps of |w * dL/dw|, each step first multiplying the sum by `decay`
//              (1 = plain sum): the first-order (Taylor) loss change of removing w.
//   movement:  the reference's estimate: at each mask update, delta = |W - W_old| (order 1) or
//              |W + W_oldold - 2 W_old| (order 2), normalised by its L2 norm over the tensor,
//              g = decay g + (1 - decay) delta (decay 0.99); score = |w| * g. Until g has any
//              mass (the first mask updates), the score is |w|.
class PruningScore {
 public:
  enum class Kind { Magnitude, Gradient, Movement };
  PruningScore(Kind kind, Shape shape, double decay = -1.0, int order = 1);  // decay < 0: 1 (gradient), 0.99 (movement)

  void step(const Tensor& weights, const Tensor& grad);  // every training step
  void mask_update(const Tensor& weights);               // at every mask update, before scores()
  Tensor scores(const Tensor& weights) const;            // (same shape as the weights)

  Kind kind() const { return kind_; }
  double decay() const { return decay_; }
  int order() const { return order_; }
  // Everything the scores depend on, for checkpoints: "g" and, for movement once taken,
  // "w_old" and "w_oldold"; plus the number of snapshots taken.
  std::map<std::string, Tensor> state() const;
  int snapshots() const { return snapshots_; }
  void restore(const std::map<std::string, Tensor>& state, int snapshots);  // ShapeError on a mismatch
  const Tensor& estimate() const { return g_; }  // gradient: the sum; movement: g

 private:
  Kind kind_;
  Shape shape_;
  double decay_;
  int order_;
  Tensor g_, w_old_, w_oldold_;
  int snapshots_ = 0;
};

struct PruneSettings {
  double sparsity = 0.0;  // fraction of entries removed, in [0, 1)
};

// Magnitude pruning at compress(); gradient-aware masks come later through update_mask().
class PruneCompressor final : public MatrixCompressor {
 public:
  explicit PruneCompressor(PruneSettings settings);
  std::string method() const override { return "prune"; }
  std::unique_ptr<CompressedMatrix> compress(const Tensor& a, Rng& rng) const override;
  double ratio_for(int64_t m, int64_t n) const override;
  const PruneSettings& settings() const { return s_; }

 private:
  PruneSettings s_;
};

}  // namespace mc
