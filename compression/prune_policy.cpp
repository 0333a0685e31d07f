#include "matcomp/compression/prune_policy.h"

#include "matcomp/compression/apply_compression.h"
#include "matcomp/core/error.h"

namespace mc {

std::string score_kind_name(PruningScore::Kind kind) {
  switch (kind) {
    case PruningScore::Kind::Magnitude: return "magnitude";
    case PruningScore::Kind::Gradient: return "gradient";
    case PruningScore::Kind::Movement: return "movement";
  }
  return "magnitude";
}

PruningScore::Kind score_kind_from_name(const std::string& name) {
  if (name == "magnitude") return PruningScore::Kind::Magnitude;
  if (name == "gradient") return PruningScore::Kind::Gradient;
  MC_CHECK(name == "movement", ValueError, "unknown pruning score '" << name << "' (known: magnitude, gradient, movement)");
  return PruningScore::Kind::Movement;
}

PruningScoreState::PruningScoreState(PruningScore::Kind kind, Shape shape, double decay, int order)
    : score_(kind, std::move(shape), decay, order) {
  sync_buffers();
}

void PruningScoreState::sync_buffers() {
  // The buffers share storage with the score's tensors: a checkpoint load writes into them.
  for (const auto& [name, t] : score_.state()) register_buffer(name, t);
}

nlohmann::json PruningScoreState::config() const {
  return {{"kind", score_kind_name(score_.kind())}, {"shape", score_.estimate().shape()}, {"decay", score_.decay()},
          {"order", score_.order()}, {"snapshots", score_.snapshots()}};
}

std::shared_ptr<PruningScoreState> PruningScoreState::from_config(const nlohmann::json& c) {
  const Shape shape = c.at("shape").get<Shape>();
  auto s = std::make_shared<PruningScoreState>(score_kind_from_name(c.at("kind").get<std::string>()), shape,
                                               c.at("decay").get<double>(), c.at("order").get<int>());
  const int snapshots = c.value("snapshots", 0);
  if (snapshots > 0) {
    // Zeros of the tensors that exist after that many snapshots; the checkpoint fills them.
    std::map<std::string, Tensor> state{{"g", Tensor::zeros(shape)}, {"w_old", Tensor::zeros(shape)}};
    if (s->score_.order() == 2 && snapshots >= 2) state["w_oldold"] = Tensor::zeros(shape);
    s->score_.restore(state, snapshots);
    s->sync_buffers();
  }
  return s;
}

namespace {

class PrunePolicy final : public TransitionPolicy {
 public:
  PrunePolicy(SparsitySchedule schedule, PruningScore::Kind kind) : schedule_(schedule), kind_(kind) { schedule_.validate(); }
  std::string name() const override { return "prune"; }

  bool before_step(const CompressionLayer& layer, int64_t step) override {
    auto seam = layer.seam();
    if (seam->phase() == Phase::Dense) {
      auto score = score_of(*seam);
      if (step < schedule_.begin_step) return false;
      // compress() checks the final sparsity; gradual pruning starts from the schedule's
      // sparsity at this step, on A's full values (compress() zeroed the entries it pruned).
      MC_CHECK(dynamic_cast<PrunedMatrix*>(layer.compress().get()) != nullptr, Error,
               "the prune policy needs a compressor that returns a PrunedMatrix, got method '" << layer.compressor.method()
                                                                                            << "' for " << layer.name);
      const Tensor& a = seam->a().value();
      const Tensor scores = score ? score->score().scores(a) : magnitude(a);
      const int64_t keep = kept_count(a.numel(), schedule_.sparsity(step));
      auto matrix = std::make_shared<PrunedMatrix>(a.clone(), top_k_mask(scores.data(), scores.numel(), keep));
      const double rel = matrix->relative_error(a);
      layer.install(matrix, 0.0, rel);
      return true;
    }
    if (seam->phase() != Phase::Factored || !schedule_.is_mask_update(step)) return false;
    auto* pruned = dynamic_cast<PrunedMatrix*>(seam->matrix().get());
    MC_CHECK(pruned != nullptr, Error, "prune policy: " << layer.name << " holds a " << seam->method() << " matrix");
    const Tensor values = pruned->factors()[0].value;  // factors() is a fresh vector
    auto score = score_of(*seam);
    if (score) {
      score->score().mask_update(values);
      score->sync_buffers();
    }
    const Tensor scores = score ? score->score().scores(values) : magnitude(values);
    const Tensor before = values.clone();
    pruned->update_mask(scores, schedule_.sparsity(step));
    seam->refresh_states();
    seam->set_rel_error(pruned->relative_error(before));  // what this mask update removed
    return step == schedule_.end_step;
  }

  void after_backward(const CompressionLayer& layer, int64_t step) override {
    if (kind_ == PruningScore::Kind::Magnitude || step > schedule_.end_step) return;
    auto seam = layer.seam();
    auto score = score_of(*seam);
    Var w = seam->parameter(seam->phase() == Phase::Dense ? "A" : "values");
    if (w.grad().defined()) score->score().step(w.value(), w.grad());
  }

 private:
  static Tensor magnitude(const Tensor& w) { return PruningScore(PruningScore::Kind::Magnitude, w.shape()).scores(w); }

  // The seam's score child, added on first use (null for magnitude scores, which need none).
  std::shared_ptr<PruningScoreState> score_of(CompressedWeight& seam) const {
    if (kind_ == PruningScore::Kind::Magnitude) return nullptr;
    if (!seam.has_module("score"))
      seam.register_module("score", std::make_shared<PruningScoreState>(kind_, Shape{seam.rows(), seam.cols()}));
    auto s = std::dynamic_pointer_cast<PruningScoreState>(seam.module("score"));
    MC_CHECK(s != nullptr && s->score().kind() == kind_, Error,
             "prune policy: the seam's score module is not a " << score_kind_name(kind_) << " PruningScore");
    return s;
  }

  SparsitySchedule schedule_;
  PruningScore::Kind kind_;
};

}  // namespace

std::unique_ptr<TransitionPolicy> make_prune_policy(const CompressionSpec& spec, const MatrixCompressor& compressor) {
  MC_CHECK(spec.pruning.has_value(), ValueError,
           "apply_compression: the 'prune' method needs a sparsity schedule (spec.pruning), got none for method '"
               << compressor.method() << "'");
  SparsitySchedule s = *spec.pruning;
  if (s.final_sparsity < 0) {
    auto* prune = dynamic_cast<const PruneCompressor*>(&compressor);
    MC_CHECK(prune != nullptr, ValueError,
             "apply_compression: spec.pruning has no final_sparsity and the compressor is not a PruneCompressor to take it from");
    s.final_sparsity = prune->settings().sparsity;
  }
  return std::make_unique<PrunePolicy>(s, spec.score);
}

}  // namespace mc
