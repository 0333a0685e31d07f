// NaN/Inf in a model stops a run. The loss alone does not show them: ReLU maps NaN to 0, so a
// model with NaN weights can keep a plausible loss and "finish". The sweep checks every
// parameter and buffer where it costs little next to the work around it: after a checkpoint
// is loaded, at log intervals, before a checkpoint is written and after every compression
// event (the factors a method produced).
#pragma once

#include <cstdint>
#include <string>

#include "matcomp/layers/modules/module.h"

namespace mc {

// "parameter 'conv1.weight' holds NaN at element 3 of 1728"; empty when all are finite.
std::string first_non_finite(const Module& model);

// ValueError "step <step>, <when>: parameter 'x' holds NaN ..." when a value is not finite.
void check_model_finite(const Module& model, int64_t step, const std::string& when);

}  // namespace mc
