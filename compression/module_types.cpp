#include "matcomp/compression/module_types.h"

#include "matcomp/compression/compressed_weight.h"
#include "matcomp/compression/prune_policy.h"
#include "matcomp/layers/modules/module_factory.h"

namespace mc {

void register_compression_module_types() {
  static const bool done = [] {
    register_module_type("CompressedWeight", [](const nlohmann::json& c) { return CompressedWeight::from_config(c); });
    register_module_type("PruningScore", [](const nlohmann::json& c) { return PruningScoreState::from_config(c); });
    return true;
  }();
  (void)done;
}

namespace {
// Also at start-up when this object file is linked in (it is whenever anything above runs).
const bool registered_at_startup = (register_compression_module_types(), true);
}  // namespace

}  // namespace mc
