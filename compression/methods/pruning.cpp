#include "matcomp/compression/methods/pruning.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "matcomp/compression/util.h"
#include "matcomp/core/error.h"

namespace mc {

int64_t kept_count(int64_t total, double sparsity) {
  return total - std::llround(sparsity * static_cast<double>(total));
}

std::vector<uint8_t> top_k_mask(const float* scores, int64_t count, int64_t keep) {
  std::vector<uint8_t> mask(static_cast<size_t>(count), 0);
  if (keep <= 0) return mask;
  if (keep >= count) {
    std::fill(mask.begin(), mask.end(), 1);
    return mask;
  }
  // Selection, not a sort: nth_element is O(count). Larger score first, then lower index.
  std::vector<int32_t> idx(static_cast<size_t>(count));
  std::iota(idx.begin(), idx.end(), 0);
  auto before = [scores](int32_t p, int32_t q) { return scores[p] > scores[q] || (scores[p] == scores[q] && p < q); };
  std::nth_element(idx.begin(), idx.begin() + keep - 1, idx.end(), before);
  for (int64_t i = 0; i < keep; ++i) mask[static_cast<size_t>(idx[static_cast<size_t>(i)])] = 1;
  return mask;
}

int64_t pruning_stored_bits(int64_t m, int64_t n, int64_t nnz) {
  return std::min(m * n + 32 * nnz, nnz * (32 + index_bits(m * n)));
}

PrunedMatrix::PrunedMatrix(Tensor values, std::vector<uint8_t> mask) : values_(std::move(values)), mask_(std::move(mask)) {
  MC_CHECK(values_.dim() == 2 && static_cast<int64_t>(mask_.size()) == values_.numel(), ShapeError,
           "prune: mask of " << mask_.size() << " entries for values " << to_string(values_.shape()));
  nnz_ = 0;
  for (uint8_t v : mask_) {
    MC_CHECK(v <= 1, ValueError, "prune: mask entries must be 0 or 1, found " << int(v));
    nnz_ += v;
  }
  after_optimizer_step();
}

nlohmann::json PrunedMatrix::settings() const { return {{"sparsity", sparsity()}, {"nnz", nnz_}}; }

// The mask passes below are selects, not branches: a branch on a mask of ~20 % kept entries in
// no pattern mispredicts often enough to cost several times the memory traffic, and a select
// vectorizes. They give the same bits as the branches did.
Tensor PrunedMatrix::materialize() const {
  Tensor out = Tensor::empty(values_.shape());
  const float* v = values_.data();
  const uint8_t* keep = mask_.data();
  float* o = out.data();
  const int64_t count = out.numel();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; ++i) o[i] = keep[i] ? v[i] : 0.0f;
  return out;
}

void PrunedMatrix::materialize_backward(const Tensor& d_dense, std::vector<Tensor>& grads) const {
  Tensor& g = grad_slot(grads, 0, values_, 1);
  const float* d = d_dense.data();
  const uint8_t* keep = mask_.data();
  float* pg = g.data();
  const int64_t count = g.numel();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; ++i) pg[i] = keep[i] ? pg[i] + d[i] : pg[i];  // pruned entries untouched
}

void PrunedMatrix::materialize_backward_taking(Tensor d_dense, std::vector<Tensor>& grads) const {
  if (grads.empty()) grads.resize(1);
  if (grads[0].defined() || d_dense.numel() != values_.numel()) {
    materialize_backward(d_dense, grads);
    return;
  }
  // No gradient yet: dÂ itself becomes it, pruned entries zeroed in place, rather than a zeroed
  // (m, n) buffer that dÂ is then added into. 0 + d, as that add gave (a -0 becomes +0).
  float* d = d_dense.data();
  const uint8_t* keep = mask_.data();
  const int64_t count = d_dense.numel();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; ++i) d[i] = keep[i] ? 0.0f + d[i] : 0.0f;
  d_dense.mark_modified();
  grads[0] = d_dense.view(values_.shape());
}

std::map<std::string, NpyArray> PrunedMatrix::integer_state() const {
  return {{"mask", to_npy_array(mask_, values_.shape())}};
}

void PrunedMatrix::after_optimizer_step() {
  // Pruned entries are written only where they are not +0 already (the bits, so a -0 is
  // written too): after a plain SGD step none are, and the pass then only reads.
  float* v = values_.data();
  const uint8_t* keep = mask_.data();
  const int64_t count = values_.numel();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; ++i) {
    uint32_t bits;
    std::memcpy(&bits, v + i, sizeof bits);
    if (!keep[i] && bits != 0) v[i] = 0.0f;
  }
  values_.mark_modified();
}

void PrunedMatrix::update_mask(const Tensor& scores, double sparsity) {
  MC_CHECK(sparsity >= 0.0 && sparsity < 1.0, ValueError, "prune: sparsity " << sparsity << " outside [0, 1)");
  MC_CHECK(scores.numel() == values_.numel(), ShapeError,
           "prune: scores " << to_string(scores.shape()) << " for values " << to_string(values_.shape()));
  mask_ = top_k_mask(scores.data(), scores.numel(), kept_count(values_.numel(), sparsity));
  nnz_ = kept_count(values_.numel(), sparsity);
  after_optimizer_step();
}

// ---------------------------------------------------------------------------------------------
PruningScore::PruningScore(Kind kind, Shape shape, double decay, int order)
    : kind_(kind), shape_(std::move(shape)), decay_(decay), order_(order) {
  if (decay_ < 0) decay_ = kind_ == Kind::Movement ? 0.99 : 1.0;
  MC_CHECK(decay_ <= 1.0, ValueError, "PruningScore: decay " << decay_ << " above 1");
  MC_CHECK(order_ == 1 || order_ == 2, ValueError, "PruningScore: order must be 1 or 2, got " << order_);
  g_ = Tensor::zeros(shape_);
}

std::map<std::string, Tensor> PruningScore::state() const {
  std::map<std::string, Tensor> out{{"g", g_}};
  if (w_old_.defined()) out["w_old"] = w_old_;
  if (w_oldold_.defined()) out["w_oldold"] = w_oldold_;
  return out;
}

void PruningScore::restore(const std::map<std::string, Tensor>& state, int snapshots) {
  for (const auto& [key, t] : state)
    MC_CHECK(t.numel() == g_.numel(), ShapeError,
             "PruningScore: saved '" << key << "' " << to_string(t.shape()) << " for scores " << to_string(shape_));
  auto take = [&](const char* key, Tensor& into) {
    auto it = state.find(key);
    into = it == state.end() ? Tensor() : it->second.clone().view(shape_);
  };
  take("g", g_);
  MC_CHECK(g_.defined(), ShapeError, "PruningScore: saved state has no 'g'");
  take("w_old", w_old_);
  take("w_oldold", w_oldold_);
  snapshots_ = snapshots;
}

void PruningScore::step(const Tensor& w, const Tensor& grad) {
  if (kind_ != Kind::Gradient) return;
  MC_CHECK(w.numel() == g_.numel() && grad.numel() == g_.numel(), ShapeError,
           "PruningScore: weights " << to_string(w.shape()) << " / gradient " << to_string(grad.shape()) << " for scores "
                                    << to_string(shape_));
  float* g = g_.data();
  const auto d = static_cast<float>(decay_);
  for (int64_t i = 0; i < g_.numel(); ++i) g[i] = d * g[i] + std::abs(w.data()[i] * grad.data()[i]);
}

void PruningScore::mask_update(const Tensor& w) {
  if (kind_ != Kind::Movement) return;
  MC_CHECK(w.numel() == g_.numel(), ShapeError,
           "PruningScore: weights " << to_string(w.shape()) << " for scores " << to_string(shape_));
  const int64_t n = g_.numel();
  if (snapshots_ >= order_) {
    std::vector<double> delta(static_cast<size_t>(n));
    double norm2 = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double x = order_ == 1 ? static_cast<double>(w.data()[i]) - w_old_.data()[i]
                                   : static_cast<double>(w.data()[i]) + w_oldold_.data()[i] - 2.0 * w_old_.data()[i];
      delta[static_cast<size_t>(i)] = std::abs(x);
      norm2 += x * x;
    }
    const double inv = norm2 > 0 ? 1.0 / std::sqrt(norm2) : 0.0;
    for (int64_t i = 0; i < n; ++i)
      g_.data()[i] = static_cast<float>(decay_ * g_.data()[i] + (1.0 - decay_) * delta[static_cast<size_t>(i)] * inv);
  }
  if (order_ == 2 && w_old_.defined()) w_oldold_ = w_old_;
  w_old_ = w.clone();
  ++snapshots_;
}

Tensor PruningScore::scores(const Tensor& w) const {
  MC_CHECK(w.numel() == g_.numel(), ShapeError,
           "PruningScore: weights " << to_string(w.shape()) << " for scores " << to_string(shape_));
  Tensor out = Tensor::empty(shape_);
  const int64_t n = g_.numel();
  bool has_mass = false;
  for (int64_t i = 0; i < n && !has_mass; ++i) has_mass = g_.data()[i] != 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    const float a = std::abs(w.data()[i]);
    switch (kind_) {
      case Kind::Magnitude: out.data()[i] = a; break;
      case Kind::Gradient: out.data()[i] = g_.data()[i]; break;
      case Kind::Movement: out.data()[i] = has_mass ? a * g_.data()[i] : a; break;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
PruneCompressor::PruneCompressor(PruneSettings settings) : s_(settings) {
  MC_CHECK(s_.sparsity >= 0.0 && s_.sparsity < 1.0, ValueError,
           "prune: sparsity " << s_.sparsity << " outside [0, 1)");
}

double PruneCompressor::ratio_for(int64_t m, int64_t n) const {
  return static_cast<double>(pruning_stored_bits(m, n, kept_count(m * n, s_.sparsity))) / static_cast<double>(dense_bits(m, n));
}

std::unique_ptr<CompressedMatrix> PruneCompressor::compress(const Tensor& a, Rng&) const {
  check_matrix(a, "prune");
  const int64_t m = a.size(0), n = a.size(1), keep = kept_count(m * n, s_.sparsity);
  check_smaller_than_dense("prune", pruning_stored_bits(m, n, keep), m, n,
                           "raise the sparsity above 1/32 (each kept value costs 32 bits plus its position)");
  std::vector<float> mag(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m * n; ++i) mag[static_cast<size_t>(i)] = std::abs(a.data()[i]);
  return std::make_unique<PrunedMatrix>(a.clone(), top_k_mask(mag.data(), m * n, keep));
}

}  // namespace mc
