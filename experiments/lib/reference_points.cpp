#include "experiments/lib/reference_points.h"

namespace mc {

std::vector<plot::Reference> reference_points(const std::string& task, const std::string& preset) {
  if (task != "cifar10" || preset == "smoke" || preset == "quick") return {};
  // Low rank at half and a third of the layers' size; magnitude pruning at 50 % and 95 %
  // sparsity: the values kept plus a one-bit mask, 0.5 + 1/32 and 0.05 + 1/32 of dense.
  return {{"reference 84.3 %", 0.5, 0.843, "lowrank"},
          {"reference 83.9 %", 0.34, 0.839, "lowrank"},
          {"reference 86 %", 0.5 + 1.0 / 32, 0.86, "prune"},
          {"reference 77 %", 0.05 + 1.0 / 32, 0.77, "prune"}};
}

}  // namespace mc
