// The presets of cifar10-compare and ptb-compare: the step counts of a sweep (prefix,
// compression window, logging) and the recipe each task trains with, and --total-steps, which
// shrinks or stretches a preset in proportion for trial runs.
#pragma once

#include <cstdint>
#include <string>

#include "experiments/lib/cifar10_task.h"
#include "experiments/lib/ptb_task.h"
#include "experiments/lib/sweep.h"

namespace mc {

extern const char* const kPresetHelp;

// Unknown names (and "fast" for PTB) are a ValueError naming the known ones.
Preset cifar10_preset(const std::string& name, Cifar10Recipe& recipe);
Preset ptb_preset(const std::string& name, int64_t steps_per_epoch, PtbRecipe& recipe);

// Every step count of the preset (and of the recipe's schedule, which is given the preset's
// total before the change) times total / p.total_steps, rounded, at least 1 where it was set.
void scale_preset(Preset& p, int64_t total);
void scale_recipe(Cifar10Recipe& recipe, int64_t total, int64_t from);
void scale_recipe(PtbRecipe& recipe, int64_t total, int64_t from);

}  // namespace mc
