#include "matcomp/compression/blend_policy.h"

#include "matcomp/compression/apply_compression.h"

namespace mc {

namespace {

class BlendPolicy final : public TransitionPolicy {
 public:
  explicit BlendPolicy(BlendSchedule schedule) : schedule_(schedule) { schedule_.validate(); }
  std::string name() const override { return "blend"; }

  bool before_step(const CompressionLayer& layer, int64_t step) override {
    auto seam = layer.seam();
    if (seam->phase() == Phase::Dense) {
      if (schedule_.updates_through(step) == 0) return false;
      auto matrix = layer.compress();
      const double rel = matrix->relative_error(seam->a().value());
      layer.install(std::move(matrix), schedule_.alpha(step), rel);
      return true;
    }
    if (seam->phase() != Phase::Blend) return false;
    const double alpha = schedule_.alpha(step);
    if (alpha > 0.0) {
      seam->set_alpha(alpha);
      return false;
    }
    // The blended seam, and with it the last reference to A, leaves the model here.
    layer.install(seam->matrix(), 0.0, seam->rel_error());
    return true;
  }

 private:
  BlendSchedule schedule_;
};

}  // namespace

std::unique_ptr<TransitionPolicy> make_blend_policy(const CompressionSpec& spec, const MatrixCompressor&) {
  return std::make_unique<BlendPolicy>(spec.schedule);
}

}  // namespace mc
