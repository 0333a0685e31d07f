// The reference's published figures (docs/REFERENCE.md), drawn on our figures beside the
// methods they belong to: CIFAR-10 accuracy after its 150000 steps, at the ratio our storage
// count gives its settings (pruning's mask counted as a bitmap, one bit per weight).
#pragma once

#include <string>
#include <vector>

#include "experiments/plot/svg_plot.h"

namespace mc {

// The points for `task`'s metric against the compressed layers' ratio; none where the
// reference published none, and none for presets too short to be read against them (smoke,
// quick: a few thousand steps against the reference's 150000).
std::vector<plot::Reference> reference_points(const std::string& task, const std::string& preset);

}  // namespace mc
