#include "matcomp/compression/export.h"

#include <map>
#include <set>

#include "matcomp/compression/compressed_weight.h"
#include "matcomp/compression/model_file.h"
#include "matcomp/compression/registry.h"
#include "matcomp/core/atomic_file.h"
#include "matcomp/core/error.h"
#include "matcomp/layers/module_factory.h"

namespace mc {

namespace {

// The compressed weights of a model, by dotted name, in registry order.
std::vector<std::pair<std::string, std::shared_ptr<FactoredWeight>>> compressed_weights(const Module& model) {
  std::vector<std::pair<std::string, std::shared_ptr<FactoredWeight>>> out;
  for (const auto& [name, module] : model.named_modules())
    if (auto w = std::dynamic_pointer_cast<FactoredWeight>(module)) out.emplace_back(name, w);
  return out;
}

bool under(const std::string& name, const std::string& prefix) { return name.rfind(prefix + ".", 0) == 0; }

// The compressed weight `name` lies under, or null.
const FactoredWeight* owner(const std::vector<std::pair<std::string, std::shared_ptr<FactoredWeight>>>& weights,
                            const std::string& name, std::string* prefix = nullptr) {
  for (const auto& [w_name, w] : weights)
    if (under(name, w_name)) {
      if (prefix) *prefix = w_name;
      return w.get();
    }
  return nullptr;
}

std::string phase_of(const FactoredWeight& w) { return dynamic_cast<const BlendedWeight*>(&w) ? "blended" : "factored"; }

}  // namespace

ExportSize export_model(const std::string& path, const Module& model) {
  const auto weights = compressed_weights(model);
  ModelFileContents c;
  // The root alone: its type and config rebuild it (module_factory.h). The compressed weights
  // are listed below.
  c.model = {{"type", model.type()}, {"config", model.config()}};
  MC_CHECK(has_module_type(model.type()), ValueError,
           "export: model type " << model.type() << " is not registered with the module factory (register_module_type)");
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& [name, w] : weights) {
    const CompressedMatrix& m = *w->matrix();
    nlohmann::json layer = {{"name", name},  {"method", m.method()}, {"settings", m.settings()},
                            {"rows", m.rows()}, {"cols", m.cols()},     {"phase", phase_of(*w)}};
    if (const auto* b = dynamic_cast<const BlendedWeight*>(w.get())) layer["alpha"] = b->alpha();
    layers.push_back(std::move(layer));
    for (const auto& [state_name, array] : m.integer_state()) c.integers.emplace_back(name + "." + state_name, array);
    // Pruned matrices: only the surviving values are stored (the phase must be factored: a
    // blend's A is dense).
    if (m.method() == "prune") c.masked_by[name + ".values"] = name + ".mask";
  }
  c.model["compressed"] = layers;
  for (const auto& [name, var] : model.named_parameters()) c.floats.emplace_back(name, var.value());
  for (const auto& [name, t] : model.named_buffers()) c.floats.emplace_back(name, t);
  const std::string bytes = encode_model_file(c);
  write_file_atomically(path, bytes);
  ExportSize size;
  size.file_bytes = static_cast<int64_t>(bytes.size());
  size.dense_float_bytes = describe_model(model).dense_float_bytes;
  return size;
}

namespace {

std::shared_ptr<Module> build_from_contents(ModelFileContents& c, const std::string& path) {
  std::shared_ptr<Module> model;
  MC_CHECK(c.model.is_object() && c.model.contains("type") && c.model["type"].is_string() && c.model.contains("config"), IoError,
           path << ": the model description lacks the root's type and config");
  try {
    model = build_module(c.model["type"].get<std::string>(), c.model["config"]);
  } catch (const Error& e) {
    throw IoError(path + ": cannot build the model: " + e.what());
  } catch (const nlohmann::json::exception& e) {
    throw IoError(path + ": cannot build the model from its config: " + e.what());
  }
  std::map<std::string, Tensor> floats(c.floats.begin(), c.floats.end());
  std::map<std::string, NpyArray> integers(c.integers.begin(), c.integers.end());
  std::set<std::string> used;
  MC_CHECK(c.model.contains("compressed") && c.model["compressed"].is_array(), IoError,
           path << ": the model description lacks its list of compressed weights");
  for (const auto& layer : c.model["compressed"]) {
    std::string name, method, phase;
    nlohmann::json settings;
    try {
      name = layer.at("name").get<std::string>();
      method = layer.at("method").get<std::string>();
      phase = layer.at("phase").get<std::string>();
      settings = layer.at("settings");
    } catch (const nlohmann::json::exception& e) {
      throw IoError(path + ": malformed compressed-weight description " + layer.dump() + " (" + e.what() + ")");
    }
    std::map<std::string, Tensor> factors;
    std::map<std::string, NpyArray> state;
    for (const auto& [key, t] : floats)
      if (under(key, name) && key.find('.', name.size() + 1) == std::string::npos) factors[key.substr(name.size() + 1)] = t;
    for (const auto& [key, a] : integers)
      if (under(key, name)) state[key.substr(name.size() + 1)] = a, used.insert(key);
    std::shared_ptr<Module> existing;
    try {
      existing = model->module(name);
    } catch (const Error& e) {
      throw IoError(path + ": compressed weight " + name + " is not a weight of a " + c.model.value("type", "?") + " (" + e.what() + ")");
    }
    auto* dense = dynamic_cast<Weight*>(existing.get());
    MC_CHECK(dense != nullptr, IoError, path << ": " << name << " is not a weight seam of the model");
    std::shared_ptr<CompressedMatrix> matrix;
    try {
      factors.erase("A");  // a blend's dense matrix is not a factor
      matrix = restore_compressed(method, settings, factors, state);
    } catch (const Error& e) {
      throw IoError(path + ": cannot rebuild " + name + " (" + method + "): " + e.what());
    }
    MC_CHECK(matrix->rows() == dense->rows() && matrix->cols() == dense->cols(), IoError,
             path << ": " << name << " is " << matrix->rows() << "x" << matrix->cols() << " in the file, the model's is "
                  << dense->rows() << "x" << dense->cols());
    if (phase == "factored") {
      model->replace_module(name, std::make_shared<FactoredWeight>(matrix, ParamGroup{}));
    } else if (phase == "blended") {
      auto a = floats.find(name + ".A");
      MC_CHECK(a != floats.end(), IoError, path << ": blended weight " << name << " has no dense matrix " << name << ".A");
      MC_CHECK(layer.contains("alpha") && layer["alpha"].is_number(), IoError, path << ": blended weight " << name << " has no alpha");
      const double alpha = layer["alpha"];
      MC_CHECK(alpha >= 0 && alpha <= 1, IoError, path << ": blended weight " << name << " has alpha " << alpha << " outside [0, 1]");
      model->replace_module(name, std::make_shared<BlendedWeight>(Var(a->second, true), ParamGroup{}, matrix, ParamGroup{}, alpha));
    } else {
      throw IoError(path + ": " + name + " has unknown phase \"" + phase + "\" (expected factored or blended)");
    }
  }
  const auto take = [&](const std::string& name, Tensor& target) {
    auto it = floats.find(name);
    MC_CHECK(it != floats.end(), IoError, path << ": no values for " << name);
    MC_CHECK(it->second.shape() == target.shape(), IoError,
             path << ": " << name << " has shape " << to_string(it->second.shape()) << ", the model's is " << to_string(target.shape()));
    if (it->second.data() != target.data()) std::copy(it->second.data(), it->second.data() + it->second.numel(), target.data());
    target.mark_modified();
    used.insert(name);
  };
  for (auto& [name, var] : model->named_parameters()) take(name, var.value());
  for (auto& [name, t] : model->named_buffers()) take(name, t);
  for (const auto& [name, t] : floats) MC_CHECK(used.count(name), IoError, path << ": tensor " << name << " belongs to no part of the model");
  for (const auto& [name, a] : integers) MC_CHECK(used.count(name), IoError, path << ": integer array " << name << " belongs to no compressed weight");
  model->train(false);
  return model;
}

}  // namespace

std::shared_ptr<Module> load_exported_model(const std::string& path) {
  const std::string bytes = read_file(path);
  ModelFileContents c = decode_model_file(bytes, path);
  return build_from_contents(c, path);
}

ExportedModelInfo describe_model(const Module& model) {
  const auto weights = compressed_weights(model);
  ExportedModelInfo info;
  info.type = model.type();
  for (const auto& [name, w] : weights) {
    const CompressedMatrix& m = *w->matrix();
    ExportedLayer row{name, {m.rows(), m.cols()}, m.method(), phase_of(*w), m.stored_bits(), m.rows() * m.cols()};
    int64_t resident = m.resident_bytes();
    if (dynamic_cast<const BlendedWeight*>(w.get())) {
      row.stored_bits += 32 * row.weights;  // the blend still holds A
      resident += 4 * row.weights;
    }
    info.layers.push_back(row);
    info.dense_float_bytes += 4 * row.weights;
    info.resident_bytes += resident;
  }
  const auto plain = [&](const std::string& name, const Tensor& t) {
    if (owner(weights, name)) return;
    info.layers.push_back({name, t.shape(), "dense", "", 32 * t.numel(), t.numel()});
    info.dense_float_bytes += 4 * t.numel();
    info.resident_bytes += 4 * t.numel();
  };
  for (const auto& [name, var] : model.named_parameters()) plain(name, var.value());
  for (const auto& [name, t] : model.named_buffers()) plain(name, t);
  return info;
}

ExportedModelInfo describe_exported_model(const std::string& path) {
  const std::string bytes = read_file(path);
  ModelFileContents c = decode_model_file(bytes, path);
  const std::shared_ptr<Module> model = build_from_contents(c, path);
  ExportedModelInfo info = describe_model(*model);
  info.file_bytes = static_cast<int64_t>(bytes.size());
  return info;
}

}  // namespace mc
