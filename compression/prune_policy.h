// The pruning policy (schedule.h's SparsitySchedule, the reference's gradual pruning): at
// begin_step the seam's A becomes a PrunedMatrix at the schedule's sparsity (no blending), and
// every mask_frequency steps until end_step the mask is recomputed from the scores at the
// schedule's new sparsity. Gradient and movement scores (pruning.h's PruningScore) accumulate
// from the controller's first step, in a "score" child of the seam (a PruningScoreState), so
// they travel with the model through checkpoints.
#pragma once

#include <memory>

#include "matcomp/compression/methods/pruning.h"
#include "matcomp/compression/transition_policy.h"

namespace mc {

// A PruningScore in the registry: buffers "g" and, for movement once taken, "w_old" and
// "w_oldold"; config kind, shape, decay, order and the number of snapshots taken.
class PruningScoreState : public Module {
 public:
  PruningScoreState(PruningScore::Kind kind, Shape shape, double decay = -1.0, int order = 1);
  static std::shared_ptr<PruningScoreState> from_config(const nlohmann::json& config);
  std::string type() const override { return "PruningScore"; }
  nlohmann::json config() const override;
  PruningScore& score() { return score_; }
  // Re-registers the score's tensors as buffers (after a mask update replaced some).
  void sync_buffers();

 private:
  PruningScore score_;
};

std::string score_kind_name(PruningScore::Kind kind);
PruningScore::Kind score_kind_from_name(const std::string& name);  // ValueError for an unknown one

std::unique_ptr<TransitionPolicy> make_prune_policy(const CompressionSpec& spec, const MatrixCompressor& compressor);

}  // namespace mc
