#include "matcomp/compression/transition_policy.h"

#include <map>

#include "matcomp/compression/blend_policy.h"
#include "matcomp/compression/prune_policy.h"
#include "matcomp/core/error.h"

namespace mc {

std::shared_ptr<CompressedWeight> CompressionLayer::seam() const {
  auto w = std::dynamic_pointer_cast<CompressedWeight>(model.module(name));
  MC_CHECK(w != nullptr, Error, "compression: " << name << " is a " << model.module(name)->type() << ", not a CompressedWeight");
  return w;
}

std::shared_ptr<CompressedMatrix> CompressionLayer::compress() const {
  Rng rng(seed);
  return std::shared_ptr<CompressedMatrix>(compressor.compress(seam()->a().value(), rng));
}

void CompressionLayer::install(std::shared_ptr<CompressedMatrix> matrix, double alpha, double rel_error) const {
  auto old = seam();
  auto next = std::make_shared<CompressedWeight>(alpha > 0.0 ? old->a() : Var(), std::move(matrix), old->group(), alpha,
                                                 rel_error);
  for (const auto& [path, child] : old->named_modules())
    if (path.find('.') == std::string::npos) next->register_module(path, child);
  model.replace_module(name, next);
}

namespace {
std::map<std::string, PolicyFactory>& table() {
  static std::map<std::string, PolicyFactory> t = {
      {"blend", [](const CompressionSpec& s, const MatrixCompressor& c) { return make_blend_policy(s, c); }},
      {"prune", [](const CompressionSpec& s, const MatrixCompressor& c) { return make_prune_policy(s, c); }},
  };
  return t;
}
}  // namespace

void register_policy(const std::string& name, PolicyFactory factory) {
  MC_CHECK(!name.empty() && factory, ValueError, "register_policy: '" << name << "' needs a name and a factory");
  table()[name] = std::move(factory);
}

std::vector<std::string> registered_policies() {
  std::vector<std::string> names;
  for (const auto& [name, f] : table()) names.push_back(name);
  return names;
}

std::unique_ptr<TransitionPolicy> make_policy(const std::string& name, const CompressionSpec& spec,
                                              const MatrixCompressor& compressor) {
  auto it = table().find(name);
  if (it == table().end()) {
    std::string list;
    for (const auto& n : registered_policies()) list += (list.empty() ? "" : ", ") + n;
    throw ValueError("unknown transition policy '" + name + "' (known: " + list + ")");
  }
  return it->second(spec, compressor);
}

}  // namespace mc
