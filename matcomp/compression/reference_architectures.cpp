#include "matcomp/compression/reference_architectures.h"

#include "matcomp/core/error.h"
#include "matcomp/core/rng.h"
#include "matcomp/layers/cifar10_cnn.h"
#include "matcomp/layers/ptb_lstm.h"

namespace mc {

namespace {

template <typename T>
void read_field(const nlohmann::json& config, const char* key, T& field, const std::string& type) {
  MC_CHECK(config.contains(key), ValueError, type << " config: missing field \"" << key << "\"");
  MC_CHECK(config[key].is_number(), ValueError, type << " config: field \"" << key << "\" is not a number");
  field = config[key].get<T>();
}

}  // namespace

nlohmann::json describe_architecture(const Module& model) {
  if (const auto* cnn = dynamic_cast<const Cifar10Cnn*>(&model)) {
    const Cifar10CnnConfig& c = cnn->config();
    return {{"type", "Cifar10Cnn"},
            {"config",
             {{"batch", c.batch}, {"image_size", c.image_size}, {"channels", c.channels}, {"conv_channels", c.conv_channels},
              {"local3", c.local3}, {"local4", c.local4}, {"num_classes", c.num_classes}, {"weight_decay", c.weight_decay}}}};
  }
  if (const auto* lm = dynamic_cast<const PtbLstm*>(&model)) {
    const PtbLstmConfig& c = lm->config();
    return {{"type", "PtbLstm"},
            {"config",
             {{"vocab", c.vocab}, {"hidden", c.hidden}, {"layers", c.layers}, {"unroll", c.unroll}, {"batch", c.batch},
              {"dropout", c.dropout}, {"init_scale", c.init_scale}}}};
  }
  throw ValueError("export: no architecture description for a model of type " + model.type() +
                   " (known: Cifar10Cnn, PtbLstm)");
}

std::shared_ptr<Module> build_architecture(const nlohmann::json& architecture) {
  MC_CHECK(architecture.is_object() && architecture.contains("type") && architecture["type"].is_string() &&
               architecture.contains("config") && architecture["config"].is_object(),
           ValueError, "architecture: expected {\"type\": ..., \"config\": {...}}, found " << architecture.dump());
  const std::string type = architecture["type"];
  const nlohmann::json& j = architecture["config"];
  Rng rng(0);  // the initial values are overwritten by the file's
  if (type == "Cifar10Cnn") {
    Cifar10CnnConfig c;
    read_field(j, "batch", c.batch, type), read_field(j, "image_size", c.image_size, type);
    read_field(j, "channels", c.channels, type), read_field(j, "conv_channels", c.conv_channels, type);
    read_field(j, "local3", c.local3, type), read_field(j, "local4", c.local4, type);
    read_field(j, "num_classes", c.num_classes, type), read_field(j, "weight_decay", c.weight_decay, type);
    return std::make_shared<Cifar10Cnn>(c, rng);
  }
  if (type == "PtbLstm") {
    PtbLstmConfig c;
    read_field(j, "vocab", c.vocab, type), read_field(j, "hidden", c.hidden, type), read_field(j, "layers", c.layers, type);
    read_field(j, "unroll", c.unroll, type), read_field(j, "batch", c.batch, type), read_field(j, "dropout", c.dropout, type);
    read_field(j, "init_scale", c.init_scale, type);
    // Dropout would draw from `rng`, which dies here; a loaded model is for inference.
    c.dropout = 0;
    return std::make_shared<PtbLstm>(c, rng);
  }
  throw ValueError("architecture: unknown model type \"" + type + "\" (known: Cifar10Cnn, PtbLstm)");
}

}  // namespace mc
