// When compression happens, as pure functions of the training step (no hidden state, so a
// resumed run and an uninterrupted one agree exactly).
//
// Blending (low rank, simhash, k-means, dictionary learning), as the reference operator:
//   W(t) = alpha(t) A(t) + (1 - alpha(t)) B(t) o C(t)
// Updates happen at steps begin, begin + frequency, begin + 2 frequency, ... up to end_step
// (inclusive; -1 = no end). The first update factors A once and lowers alpha to
// 1 - alpha_decrement; every later update lowers it by alpha_decrement more, never below 0.
// Before the first update alpha is 1. Example (the reference's own test): begin 1000,
// frequency 10, decrement 0.01 -> alpha(999) = 1, alpha(1000) = alpha(1001) = 0.99,
// alpha(1010) = 0.98. An immediate switch is decrement 1: alpha drops from 1 to 0 at begin.
//
//   alpha
//   1.0 |-----------.
//       |           '--.__
//       |                 '--.__         (one step of -alpha_decrement every `frequency`)
//   0.0 |                       '--.__.________
//       +-----------+-----------------+--------> step
//                 begin        begin + frequency / alpha_decrement
//
// Pruning follows the polynomial sparsity schedule of the reference instead:
//   s(t) = s_final + (s_initial - s_final) (1 - p)^3,  p = clip((t - begin) / (end - begin), 0, 1)
// with the mask recomputed every mask_frequency steps from begin to end.
#pragma once

#include <cstdint>

#include <nlohmann/json_fwd.hpp>

namespace mc {

struct BlendSchedule {
  int64_t begin_step = 0;
  int64_t end_step = -1;
  int64_t frequency = 100;
  double alpha_decrement = 0.01;

  static BlendSchedule immediate(int64_t step);  // alpha jumps to 0 at `step`

  bool is_update(int64_t step) const;    // an update happens at this step
  int64_t updates_through(int64_t step) const;  // how many updates have happened by `step`
  double alpha(int64_t step) const;      // alpha in effect for the forward pass at `step`
  int64_t switch_step() const;           // first step with alpha == 0 (-1 if never)
  int64_t updates_to_zero() const;       // ceil(1 / alpha_decrement)
  void validate() const;                 // ValueError naming the bad field
};

struct SparsitySchedule {
  int64_t begin_step = 0;
  int64_t end_step = 1000;
  int64_t mask_frequency = 100;
  double initial_sparsity = 0.0;
  double final_sparsity = -1.0;  // < 0: the prune compressor's own sparsity (from its ratio)

  bool is_mask_update(int64_t step) const;
  double sparsity(int64_t step) const;  // target of the polynomial schedule at `step`
  void validate() const;
};

void to_json(nlohmann::json& j, const BlendSchedule& s);
void from_json(const nlohmann::json& j, BlendSchedule& s);
void to_json(nlohmann::json& j, const SparsitySchedule& s);
void from_json(const nlohmann::json& j, SparsitySchedule& s);

}  // namespace mc
