#include "matcomp/layers/models/builtin_module_types.h"

#include "matcomp/core/rng.h"
#include "matcomp/layers/models/cifar10_cnn.h"
#include "matcomp/layers/modules/module_factory.h"
#include "matcomp/layers/models/ptb_lstm.h"
#include "matcomp/layers/modules/weight.h"

namespace mc {

void register_builtin_module_types() {
  // Values are loaded after the build, so the initialisation draws from a fixed seed.
  register_module_type("Cifar10Cnn", [](const nlohmann::json& c) {
    Rng rng(0);
    return std::make_shared<Cifar10Cnn>(c.get<Cifar10CnnConfig>(), rng);
  });
  // The model keeps drawing dropout masks from its Rng, so it owns one.
  register_module_type("PtbLstm", [](const nlohmann::json& c) {
    return std::make_shared<PtbLstm>(c.get<PtbLstmConfig>(), std::make_shared<Rng>(0));
  });
  register_module_type("DenseWeight", [](const nlohmann::json& c) { return DenseWeight::from_config(c); });
}

}  // namespace mc
