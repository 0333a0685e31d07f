#include "matcomp/layers/modules/module_factory.h"

#include <map>
#include <set>

#include "matcomp/core/error.h"
#include "matcomp/layers/models/builtin_module_types.h"
#include "matcomp/layers/modules/weight.h"

namespace mc {

namespace {

std::map<std::string, ModuleBuilder>& raw_table() {
  static std::map<std::string, ModuleBuilder> t;
  return t;
}

// The builtin types are registered by an explicit call on first use, not by static
// initialisers in object files a static link might drop.
std::map<std::string, ModuleBuilder>& table() {
  static const bool builtins = [] {
    register_builtin_module_types();
    return true;
  }();
  (void)builtins;
  return raw_table();
}

std::string known_types() {
  std::string list;
  for (const auto& [name, b] : table()) list += (list.empty() ? "" : ", ") + name;
  return list;
}

}  // namespace

void register_module_type(const std::string& type, ModuleBuilder builder) {
  MC_CHECK(!type.empty() && builder, ValueError, "register_module_type: '" << type << "' needs a name and a builder");
  raw_table()[type] = std::move(builder);
}

bool has_module_type(const std::string& type) { return table().count(type) > 0; }

std::vector<std::string> registered_module_types() {
  std::vector<std::string> names;
  for (const auto& [name, b] : table()) names.push_back(name);
  return names;
}

std::shared_ptr<Module> build_module(const std::string& type, const nlohmann::json& config) {
  auto it = table().find(type);
  MC_CHECK(it != table().end(), ValueError,
           "no builder registered for module type '" << type << "' (known: " << known_types()
                                                     << "); a library that defines it must register it first");
  std::shared_ptr<Module> m;
  try {
    m = it->second(config);
  } catch (const nlohmann::json::exception& e) {
    throw ValueError("module type '" + type + "': bad config " + config.dump() + ": " + e.what());
  }
  MC_CHECK(m != nullptr, ValueError, "the builder for module type '" << type << "' returned nothing");
  MC_CHECK(m->type() == type, ValueError,
           "the builder for module type '" << type << "' built a '" << m->type() << "'");
  return m;
}

nlohmann::json describe_structure(const Module& root) {
  nlohmann::json modules = nlohmann::json::array();
  for (const auto& [path, m] : root.named_modules())
    modules.push_back({{"path", path}, {"type", m->type()}, {"config", m->config()}});
  return {{"root", {{"type", root.type()}, {"config", root.config()}}}, {"modules", modules}};
}

void rebuild_structure(Module& root, const nlohmann::json& description) {
  MC_CHECK(description.is_object() && description.contains("root") && description.contains("modules") &&
               description["modules"].is_array(),
           IoError, "structure description has no \"root\" and \"modules\" list");
  const std::string root_type = description["root"].value("type", "");
  MC_CHECK(root_type == root.type(), IoError,
           "the saved model is a '" << root_type << "', this model is a '" << root.type() << "'");
  // The root's config is not compared: it may hold run-time choices (a data-parallel rank's
  // share of the batch); a real architecture difference shows as mismatched shapes when the
  // values are loaded.
  std::set<std::string> wanted;
  for (const auto& entry : description["modules"]) {
    MC_CHECK(entry.is_object() && entry.contains("path") && entry["path"].is_string() && entry.contains("type") &&
                 entry["type"].is_string(),
             IoError, "structure description: malformed module entry " << entry.dump());
    const std::string path = entry["path"].get<std::string>();
    const std::string type = entry["type"].get<std::string>();
    const nlohmann::json config = entry.value("config", nlohmann::json::object());
    wanted.insert(path);
    if (root.has_module(path)) {
      const auto current = root.module(path);
      if (current->type() == type && current->config() == config) continue;
      auto replacement = build_module(type, config);
      // A weight seam of other dimensions is an architecture mismatch, not a structure to
      // rebuild: the model keeps its own, and loading the values lists every mismatch.
      const auto old_weight = std::dynamic_pointer_cast<Weight>(current);
      const auto new_weight = std::dynamic_pointer_cast<Weight>(replacement);
      if (old_weight && new_weight &&
          (old_weight->rows() != new_weight->rows() || old_weight->cols() != new_weight->cols()))
        continue;
      root.replace_module(path, replacement);
    } else {
      const size_t dot = path.rfind('.');
      MC_CHECK(dot == std::string::npos || root.has_module(path.substr(0, dot)), IoError,
               "structure description: '" << path << "' comes before its parent");
      root.add_module(path, build_module(type, config));
    }
  }
  // Modules the description lacks, deepest first (a removed parent takes its subtree along).
  const auto present = root.named_modules();
  for (auto it = present.rbegin(); it != present.rend(); ++it)
    if (!wanted.count(it->first) && root.has_module(it->first)) root.remove_module(it->first);
}

}  // namespace mc
