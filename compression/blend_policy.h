// The blending policy (schedule.h's BlendSchedule, the reference operator): at the first
// update the seam's A is factored and the layer blends W = alpha A + (1 - alpha) Â; alpha
// falls with the schedule; when it reaches 0 the layer switches to the factors alone.
#pragma once

#include <memory>

#include "matcomp/compression/transition_policy.h"

namespace mc {

std::unique_ptr<TransitionPolicy> make_blend_policy(const CompressionSpec& spec, const MatrixCompressor& compressor);

}  // namespace mc
