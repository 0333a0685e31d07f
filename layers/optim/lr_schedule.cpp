#include "matcomp/layers/optim/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "matcomp/core/error.h"

namespace mc {

float StepDecay::operator()(int64_t step) const {
  MC_CHECK(step_size > 0, ValueError, "StepDecay step_size must be > 0, got " << step_size);
  const int64_t k = std::max<int64_t>(step - start, 0) / step_size;
  return static_cast<float>(base_lr * std::pow(static_cast<double>(gamma), static_cast<double>(k)));
}

float ExponentialDecay::operator()(int64_t step) const {
  MC_CHECK(decay_steps > 0, ValueError, "ExponentialDecay decay_steps must be > 0, got " << decay_steps);
  double e = static_cast<double>(step) / static_cast<double>(decay_steps);
  if (staircase) e = std::floor(e);
  return static_cast<float>(base_lr * std::pow(static_cast<double>(decay_rate), e));
}

float CosineDecay::operator()(int64_t step) const {
  MC_CHECK(total_steps > warmup_steps && warmup_steps >= 0, ValueError,
           "CosineDecay needs 0 <= warmup_steps < total_steps, got " << warmup_steps << " and " << total_steps);
  if (step < warmup_steps) return base_lr * static_cast<float>(step + 1) / static_cast<float>(warmup_steps);
  if (step >= total_steps) return min_lr;
  const double x = static_cast<double>(step - warmup_steps) / static_cast<double>(total_steps - warmup_steps);
  return static_cast<float>(min_lr + (base_lr - min_lr) * 0.5 * (1.0 + std::cos(std::numbers::pi * x)));
}

}  // namespace mc
