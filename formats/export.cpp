#include "matcomp/formats/export.h"

#include <map>
#include <set>

#include "matcomp/compression/compressed_weight.h"
#include "matcomp/formats/model_file.h"
#include "matcomp/compression/module_types.h"
#include "matcomp/core/atomic_file.h"
#include "matcomp/core/error.h"
#include "matcomp/layers/modules/module_factory.h"

namespace mc {

namespace {

bool under(const std::string& name, const std::string& prefix) { return name.rfind(prefix + ".", 0) == 0; }

// The compressed weights of a model (blend or factored phase), by dotted name.
std::vector<std::pair<std::string, std::shared_ptr<CompressedWeight>>> compressed_weights(const Module& model) {
  std::vector<std::pair<std::string, std::shared_ptr<CompressedWeight>>> out;
  for (const auto& [name, module] : model.named_modules())
    if (auto w = std::dynamic_pointer_cast<CompressedWeight>(module))
      if (w->matrix()) out.emplace_back(name, w);
  return out;
}

// Modules that hold training state only (pruning scores): not exported.
std::vector<std::string> training_only(const Module& model) {
  std::vector<std::string> out;
  for (const auto& [name, module] : model.named_modules())
    if (module->type() == "PruningScore") out.push_back(name);
  return out;
}

bool exported(const std::vector<std::string>& skipped, const std::string& name) {
  for (const std::string& s : skipped)
    if (name == s || under(name, s)) return false;
  return true;
}

// Values from the file into a model whose structure matches the description.
void load_values(Module& model, ModelFileContents& c, const std::string& path) {
  std::map<std::string, Tensor> floats(c.floats.begin(), c.floats.end());
  std::map<std::string, NpyArray> integers(c.integers.begin(), c.integers.end());
  std::set<std::string> used;
  const auto take = [&](const std::string& name, Tensor& target) {
    auto it = floats.find(name);
    MC_CHECK(it != floats.end(), IoError, path << ": no values for " << name);
    MC_CHECK(it->second.shape() == target.shape(), IoError,
             path << ": " << name << " has shape " << to_string(it->second.shape()) << ", the model's is " << to_string(target.shape()));
    std::copy(it->second.data(), it->second.data() + it->second.numel(), target.data());
    target.mark_modified();
    used.insert(name);
  };
  for (auto& [name, var] : model.named_parameters()) take(name, var.value());
  for (auto& [name, t] : model.named_buffers()) take(name, t);
  for (const auto& [name, a] : model.named_states()) {
    auto it = integers.find(name);
    MC_CHECK(it != integers.end(), IoError, path << ": no values for integer state " << name);
    MC_CHECK(it->second.shape == a.shape && it->second.dtype == a.dtype, IoError,
             path << ": integer state " << name << " is " << it->second.dtype << " " << to_string(it->second.shape) << ", the model's is "
                  << a.dtype << " " << to_string(a.shape));
    model.set_state(name, it->second);
    used.insert(name);
  }
  for (const auto& [name, t] : floats) MC_CHECK(used.count(name), IoError, path << ": tensor " << name << " belongs to no part of the model");
  for (const auto& [name, a] : integers) MC_CHECK(used.count(name), IoError, path << ": integer array " << name << " belongs to no part of the model");
  try {
    for (const auto& [name, m] : model.named_modules()) m->on_values_loaded();  // methods rebuild their matrices here
    model.on_values_loaded();
  } catch (const IoError&) {
    throw;
  } catch (const Error& e) {
    throw IoError(path + ": the values do not fit the model's structure: " + e.what());
  }
}

void rebuild(Module& model, const nlohmann::json& structure, const std::string& path) {
  try {
    rebuild_structure(model, structure);
  } catch (const IoError&) {
    throw;
  } catch (const Error& e) {
    throw IoError(path + ": cannot rebuild the model's structure: " + e.what());
  } catch (const nlohmann::json::exception& e) {
    throw IoError(path + ": malformed structure description: " + e.what());
  }
}

ModelFileContents read_contents(const std::string& path, int64_t* file_bytes = nullptr) {
  register_compression_module_types();  // CompressedWeight must be buildable: a static link may not have run it yet
  const std::string bytes = read_file(path);
  if (file_bytes) *file_bytes = static_cast<int64_t>(bytes.size());
  return decode_model_file(bytes, path);
}

std::shared_ptr<Module> build(ModelFileContents& c, const std::string& path) {
  const nlohmann::json& s = c.model;
  MC_CHECK(s.is_object() && s.contains("root") && s["root"].is_object() && s["root"].contains("type") &&
               s["root"]["type"].is_string() && s["root"].contains("config"),
           IoError, path << ": the structure description lacks the root's type and config");
  std::shared_ptr<Module> model;
  try {
    model = build_module(s["root"]["type"].get<std::string>(), s["root"]["config"]);
  } catch (const Error& e) {
    throw IoError(path + ": cannot build the model: " + e.what());
  } catch (const nlohmann::json::exception& e) {
    throw IoError(path + ": cannot build the model from its config: " + e.what());
  }
  rebuild(*model, s, path);
  load_values(*model, c, path);
  model->train(false);
  set_inference_path(*model, InferencePath::Fastest);
  return model;
}

}  // namespace

ExportSize export_model(const std::string& path, const Module& model) {
  const std::vector<std::string> skipped = training_only(model);
  ModelFileContents c;
  c.model = describe_structure(model);
  nlohmann::json modules = nlohmann::json::array();
  for (const auto& m : c.model["modules"])
    if (exported(skipped, m["path"].get<std::string>())) modules.push_back(m);
  c.model["modules"] = modules;
  for (const auto& [name, var] : model.named_parameters())
    if (exported(skipped, name)) c.floats.emplace_back(name, var.value());
  for (const auto& [name, t] : model.named_buffers())
    if (exported(skipped, name)) c.floats.emplace_back(name, t);
  for (const auto& [name, a] : model.named_states())
    if (exported(skipped, name)) c.integers.emplace_back(name, a);
  // Pruned matrices after the switch: only the surviving values are stored.
  for (const auto& [name, w] : compressed_weights(model))
    if (w->phase() == Phase::Factored && w->method() == "prune") c.masked_by[name + ".values"] = name + ".mask";
  const std::string bytes = encode_model_file(c);
  write_file_atomically(path, bytes);
  ExportSize size;
  size.file_bytes = static_cast<int64_t>(bytes.size());
  size.dense_float_bytes = describe_model(model).dense_float_bytes;
  return size;
}

std::shared_ptr<Module> load_exported_model(const std::string& path) {
  ModelFileContents c = read_contents(path);
  return build(c, path);
}

void load_exported_model(const std::string& path, Module& model) {
  ModelFileContents c = read_contents(path);
  rebuild(model, c.model, path);
  load_values(model, c, path);
  set_inference_path(model, InferencePath::Fastest);
}

void set_inference_path(Module& model, InferencePath path) {
  for (auto& [name, w] : compressed_weights(model)) w->set_inference_path(path);
}

ExportedModelInfo describe_model(const Module& model) {
  const auto weights = compressed_weights(model);
  const std::vector<std::string> skipped = training_only(model);
  ExportedModelInfo info;
  info.type = model.type();
  for (const auto& [name, w] : weights) {
    const CompressedMatrix& m = *w->matrix();
    ExportedLayer row{name, {m.rows(), m.cols()}, m.method(), phase_name(w->phase()), m.stored_bits(), m.rows() * m.cols()};
    if (w->phase() == Phase::Blend) row.stored_bits += 32 * row.weights;  // the blend still holds A
    row.infers_through_dense = w->fastest_path_uses_dense();
    info.layers.push_back(row);
    info.dense_float_bytes += 4 * row.weights;
    info.resident_bytes += w->inference_resident_bytes(InferencePath::Product);
    info.fastest_resident_bytes += w->inference_resident_bytes(InferencePath::Fastest);
  }
  const auto inside_compressed = [&](const std::string& name) {
    for (const auto& [w_name, w] : weights)
      if (under(name, w_name)) return true;
    return !exported(skipped, name);
  };
  const auto plain = [&](const std::string& name, const Tensor& t) {
    if (inside_compressed(name)) return;
    info.layers.push_back({name, t.shape(), "dense", "", 32 * t.numel(), t.numel()});
    info.dense_float_bytes += 4 * t.numel();
    info.resident_bytes += 4 * t.numel();
    info.fastest_resident_bytes += 4 * t.numel();
  };
  for (const auto& [name, var] : model.named_parameters()) plain(name, var.value());
  for (const auto& [name, t] : model.named_buffers()) plain(name, t);
  return info;
}

ExportedModelInfo describe_exported_model(const std::string& path) {
  int64_t file_bytes = 0;
  ModelFileContents c = read_contents(path, &file_bytes);
  const std::shared_ptr<Module> model = build(c, path);
  ExportedModelInfo info = describe_model(*model);
  info.file_bytes = file_bytes;
  return info;
}

}  // namespace mc
