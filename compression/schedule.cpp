#include "matcomp/compression/schedule.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "matcomp/core/error.h"

namespace mc {

BlendSchedule BlendSchedule::immediate(int64_t step) { return BlendSchedule{step, step, 1, 1.0}; }

void BlendSchedule::validate() const {
  MC_CHECK(begin_step >= 0, ValueError, "compression schedule: begin_step " << begin_step << " must be >= 0");
  MC_CHECK(end_step == -1 || end_step >= begin_step, ValueError,
           "compression schedule: end_step " << end_step << " is before begin_step " << begin_step << " (use -1 for no end)");
  MC_CHECK(frequency >= 1, ValueError, "compression schedule: frequency " << frequency << " must be >= 1");
  MC_CHECK(alpha_decrement > 0 && alpha_decrement <= 1, ValueError,
           "compression schedule: alpha_decrement " << alpha_decrement << " must be in (0, 1]");
}

bool BlendSchedule::is_update(int64_t step) const {
  if (step < begin_step || (end_step >= 0 && step > end_step)) return false;
  return (step - begin_step) % frequency == 0;
}

int64_t BlendSchedule::updates_through(int64_t step) const {
  if (step < begin_step) return 0;
  const int64_t last = end_step >= 0 ? std::min(step, end_step) : step;
  return (last - begin_step) / frequency + 1;
}

double BlendSchedule::alpha(int64_t step) const {
  const int64_t n = updates_through(step);
  // Computed from the count, not accumulated, so it is identical on resume; and exactly 0 once
  // the count reaches 1 / decrement, whatever the rounding of n * decrement.
  if (n >= updates_to_zero()) return 0.0;
  return std::max(0.0, 1.0 - static_cast<double>(n) * alpha_decrement);
}

int64_t BlendSchedule::updates_to_zero() const {
  return static_cast<int64_t>(std::ceil(1.0 / alpha_decrement - 1e-9));
}

int64_t BlendSchedule::switch_step() const {
  const int64_t step = begin_step + (updates_to_zero() - 1) * frequency;
  if (end_step >= 0 && step > end_step) return -1;
  return step;
}

void SparsitySchedule::validate() const {
  MC_CHECK(begin_step >= 0 && end_step > begin_step, ValueError,
           "sparsity schedule: need 0 <= begin_step < end_step, got " << begin_step << ", " << end_step);
  MC_CHECK(mask_frequency >= 1, ValueError, "sparsity schedule: mask_frequency must be >= 1");
  MC_CHECK(initial_sparsity >= 0 && initial_sparsity < 1 && final_sparsity < 1, ValueError,
           "sparsity schedule: initial sparsity must be in [0, 1) and final sparsity below 1 (negative: the compressor's), got "
               << initial_sparsity << " and " << final_sparsity);
}

bool SparsitySchedule::is_mask_update(int64_t step) const {
  if (step < begin_step || step > end_step) return false;
  return (step - begin_step) % mask_frequency == 0 || step == end_step;
}

double SparsitySchedule::sparsity(int64_t step) const {
  const double p = std::clamp(static_cast<double>(step - begin_step) / static_cast<double>(end_step - begin_step), 0.0, 1.0);
  return final_sparsity + (initial_sparsity - final_sparsity) * std::pow(1.0 - p, 3);
}

void to_json(nlohmann::json& j, const BlendSchedule& s) {
  j = {{"begin_step", s.begin_step}, {"end_step", s.end_step}, {"frequency", s.frequency}, {"alpha_decrement", s.alpha_decrement}};
}
void from_json(const nlohmann::json& j, BlendSchedule& s) {
  s.begin_step = j.value("begin_step", s.begin_step);
  s.end_step = j.value("end_step", s.end_step);
  s.frequency = j.value("frequency", s.frequency);
  s.alpha_decrement = j.value("alpha_decrement", s.alpha_decrement);
}
void to_json(nlohmann::json& j, const SparsitySchedule& s) {
  j = {{"begin_step", s.begin_step}, {"end_step", s.end_step}, {"mask_frequency", s.mask_frequency},
       {"initial_sparsity", s.initial_sparsity}, {"final_sparsity", s.final_sparsity}};
}
void from_json(const nlohmann::json& j, SparsitySchedule& s) {
  s.begin_step = j.value("begin_step", s.begin_step);
  s.end_step = j.value("end_step", s.end_step);
  s.mask_frequency = j.value("mask_frequency", s.mask_frequency);
  s.initial_sparsity = j.value("initial_sparsity", s.initial_sparsity);
  s.final_sparsity = j.value("final_sparsity", s.final_sparsity);
}

}  // namespace mc
