#include "experiments/lib/presets.h"

#include <algorithm>
#include <cmath>

#include "matcomp/core/error.h"

namespace mc {

const char* const kPresetHelp =
    "smoke (seconds, for tests), quick (under 30 min on 2 cores), standard (about 2.5 h on 2 cores), "
    "reference (the reference's full schedule), fast (CIFAR-10 only: a better recipe in 50000 steps, a third of "
    "the reference's)";

// CIFAR-10 presets. Steps per second on 2 cores: about 6.5 (docs/notes/performance-history.md). The EMA is
// used only where branches are long enough for a 0.9999 average to forget the weights from
// before the compression event (the reference preset); shorter presets evaluate raw weights.
Preset cifar10_preset(const std::string& name, Cifar10Recipe& recipe) {
  Preset p;
  p.name = name;
  if (name == "smoke") {
    p.total_steps = 30, p.begin_step = 20, p.frequency = 2, p.alpha_decrement = 0.5, p.prune_end_step = 26;
    p.log_every = 2, p.checkpoint_every = 10, p.eval_every = 10;
    recipe.ema_decay = 0, recipe.eval_images = 256;
  } else if (name == "quick") {
    p.total_steps = 2750, p.begin_step = 2500, p.frequency = 25, p.alpha_decrement = 0.2, p.prune_end_step = 2650;
    p.log_every = 25, p.checkpoint_every = 250, p.eval_every = 100;
    recipe.ema_decay = 0;
  } else if (name == "standard") {
    // The learning rate drops to 0.01 at step 20000 (the reference drops it after 350 epochs,
    // out of reach here), so the prefix has settled before the compression begins at 25000.
    p.total_steps = 26000, p.begin_step = 25000, p.frequency = 50, p.alpha_decrement = 0.1, p.prune_end_step = 25500;
    p.log_every = 50, p.checkpoint_every = 500, p.eval_every = 250;
    recipe.ema_decay = 0, recipe.decay_steps = 20000;
  } else if (name == "fast") {
    // The reference's model, data and evaluation with a recipe found by short measured runs
    // (docs/EXPERIMENTS.md, "A faster recipe"): SGD with Nesterov momentum, a warm-up and a
    // cosine decay to 0 at the last step, weight decay on every kernel. Compression begins at
    // 40000, the blend (or the pruning ramp) ends at 45000, and the factors train alone to 50000.
    p.total_steps = 50000, p.begin_step = 40000, p.frequency = 100, p.alpha_decrement = 0.02, p.prune_end_step = 45000;
    p.log_every = 100, p.checkpoint_every = 1000, p.eval_every = 1000;
    recipe.schedule = Cifar10Schedule::Cosine, recipe.cosine_steps = p.total_steps, recipe.warmup_steps = 1000;
    recipe.learning_rate = 0.05f, recipe.momentum = 0.9f, recipe.nesterov = true;
    recipe.weight_decay = 0.004f, recipe.other_weight_decay = 5e-4f, recipe.ema_decay = 0;
  } else if (name == "reference") {
    // begin 40000, frequency 100, alpha step 0.005, 120k steps; lr x0.1 after 350 epochs.
    p.total_steps = 120000, p.begin_step = 40000, p.frequency = 100, p.alpha_decrement = 0.005, p.prune_end_step = 100000;
    p.log_every = 100, p.checkpoint_every = 2000, p.eval_every = 1000;
    recipe.decay_steps = 350 * (50000 / recipe.batch);
  } else {
    MC_CHECK(false, ValueError, "unknown preset '" << name << "': " << kPresetHelp);
  }
  return p;
}

// PTB presets (small model: about 2323 steps an epoch, ~15 steps/s on 2 cores). The learning
// rate halves during the branches, as the reference's does after its 4th epoch. Evaluation
// during training reads a part of the validation set (the whole of it costs about 50 training
// steps), often enough for a curve and at most about 5 % of the training time.
Preset ptb_preset(const std::string& name, int64_t epoch, PtbRecipe& recipe) {
  Preset p;
  p.name = name;
  if (name == "smoke") {
    p.total_steps = 30, p.begin_step = 20, p.frequency = 2, p.alpha_decrement = 0.5, p.prune_end_step = 26;
    p.log_every = 2, p.checkpoint_every = 10, p.eval_every = 10;
    recipe.eval_windows = 5, recipe.valid_windows = 5;
  } else if (name == "quick") {
    p.total_steps = 3900, p.begin_step = 3500, p.frequency = 20, p.alpha_decrement = 0.2, p.prune_end_step = 3660;
    p.log_every = 25, p.checkpoint_every = 250, p.eval_every = 200;
    recipe.decay_start = 3500, recipe.decay_every = 100, recipe.valid_windows = 10;
  } else if (name == "standard") {
    p.begin_step = 4 * epoch, p.total_steps = p.begin_step + 4000, p.frequency = 50, p.alpha_decrement = 0.1;
    p.prune_end_step = p.begin_step + 1000, p.log_every = 50, p.checkpoint_every = 500, p.eval_every = 500;
    recipe.decay_start = p.begin_step, recipe.decay_every = 1000, recipe.valid_windows = 25;
  } else if (name == "reference") {
    // 13 epochs (small) or 39 (medium); lr 1, x0.5 per epoch after epoch 4 (6 for medium).
    const bool medium = recipe.model.hidden > 200;
    const int64_t full_lr_epochs = medium ? 6 : 4, epochs = medium ? 39 : 13;
    p.begin_step = full_lr_epochs * epoch, p.total_steps = epochs * epoch, p.frequency = 100, p.alpha_decrement = 0.05;
    p.prune_end_step = p.begin_step + 2 * epoch, p.log_every = 100, p.checkpoint_every = 1000, p.eval_every = epoch;
    recipe.decay_start = p.begin_step, recipe.decay_every = epoch, recipe.decay_rate = medium ? 1 / 1.2f : 0.5f;
  } else if (name == "fast") {
    MC_CHECK(false, ValueError, "the fast preset is CIFAR-10's; PTB has smoke, quick, standard and reference");
  } else {
    MC_CHECK(false, ValueError, "unknown preset '" << name << "': " << kPresetHelp);
  }
  return p;
}

// --total-steps: every step count of the preset and of the recipe's schedule in proportion,
// so a short run has the same shape as the long one (a warm-up, the decay, the compression
// window at the same fractions of the run).
namespace {

int64_t scaled_steps(int64_t steps, int64_t total, int64_t from) {
  if (steps <= 0) return steps;
  const double scaled = std::round(static_cast<double>(steps) * static_cast<double>(total) / static_cast<double>(from));
  return std::max<int64_t>(1, static_cast<int64_t>(scaled));
}

}  // namespace

void scale_preset(Preset& p, int64_t total) {
  const int64_t from = p.total_steps;
  // The blend lasts frequency / alpha_decrement steps; where the frequency rounds (to 1 at
  // least), the decrement follows, so that the blend still ends at the same fraction of the run.
  const double blend_steps = static_cast<double>(p.frequency) / p.alpha_decrement *
                             static_cast<double>(total) / static_cast<double>(from);
  for (int64_t* steps : {&p.begin_step, &p.frequency, &p.prune_end_step, &p.log_every, &p.checkpoint_every, &p.eval_every})
    *steps = scaled_steps(*steps, total, from);
  p.alpha_decrement = std::min(1.0, static_cast<double>(p.frequency) / std::max(1.0, std::round(blend_steps)));
  p.total_steps = total;
  MC_CHECK(p.begin_step < p.total_steps && p.prune_end_step <= p.total_steps, ValueError,
           "--total-steps " << total << " is too short for the preset's schedule (compression would begin at step "
                            << p.begin_step << ")");
}

void scale_recipe(Cifar10Recipe& r, int64_t total, int64_t from) {
  for (int64_t* steps : {&r.decay_steps, &r.warmup_steps, &r.cosine_steps}) *steps = scaled_steps(*steps, total, from);
}

void scale_recipe(PtbRecipe& r, int64_t total, int64_t from) {
  for (int64_t* steps : {&r.decay_start, &r.decay_every}) *steps = scaled_steps(*steps, total, from);
}


}  // namespace mc
