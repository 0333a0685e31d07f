#include "matcomp/compression/apply_compression.h"

#include <fnmatch.h>

#include <cstdio>
#include <cstring>
#include <sstream>

#include "matcomp/compression/module_types.h"
#include "matcomp/compression/registry.h"
#include "matcomp/core/error.h"

namespace mc {

CompressorFactory with(std::shared_ptr<MatrixCompressor> compressor) {
  MC_CHECK(compressor != nullptr, ValueError, "with(): null compressor");
  // The factory hands out non-owning views of the one shared compressor.
  struct Shared final : MatrixCompressor {
    std::shared_ptr<MatrixCompressor> inner;
    explicit Shared(std::shared_ptr<MatrixCompressor> c) : inner(std::move(c)) {}
    std::string method() const override { return inner->method(); }
    std::unique_ptr<CompressedMatrix> compress(const Tensor& a, Rng& rng) const override { return inner->compress(a, rng); }
    double ratio_for(int64_t m, int64_t n) const override { return inner->ratio_for(m, n); }
  };
  return [compressor](const std::string&, int64_t, int64_t) { return std::make_unique<Shared>(compressor); };
}

CompressorFactory by_ratio(const std::string& method, double ratio, nlohmann::json options) {
  return [method, ratio, options](const std::string&, int64_t m, int64_t n) {
    return compressor_for_ratio(method, m, n, ratio, options);
  };
}

namespace {

// FNV-1a: a platform-independent hash, so each layer's factorisation seed is stable.
uint64_t stable_hash(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

bool matches(const std::string& name, const std::vector<std::string>& patterns) {
  for (const std::string& p : patterns)
    if (fnmatch(p.c_str(), name.c_str(), 0) == 0) return true;
  return false;
}

}  // namespace

struct CompressionController::Slot {
  std::string name;
  int64_t rows = 0, cols = 0;
  std::unique_ptr<MatrixCompressor> compressor;
  std::unique_ptr<TransitionPolicy> policy;
  CompressionLayer layer(Module& model, uint64_t seed) const { return {model, name, *compressor, seed ^ stable_hash(name)}; }
};

CompressionController::CompressionController(Module& model, CompressionSpec spec, uint64_t seed)
    : model_(model), spec_(std::move(spec)), seed_(seed) {
  register_compression_module_types();
  std::vector<CompressionRule> rules = spec_.rules;
  if (spec_.compressor || !spec_.include.empty()) {
    MC_CHECK(spec_.compressor != nullptr, ValueError, "apply_compression: no compressor given");
    rules.push_back({spec_.include, spec_.exclude, spec_.compressor, ""});
  }
  MC_CHECK(!rules.empty(), ValueError, "apply_compression: no compressor given (spec.compressor or spec.rules)");
  std::map<std::string, size_t> rule_of;  // layer -> the first rule that selects it
  for (size_t r = 0; r < rules.size(); ++r) {
    MC_CHECK(rules[r].compressor != nullptr, ValueError, "apply_compression: rule " << r << " has no compressor");
    for (const std::string& name : select_weights(model_, rules[r].include, rules[r].exclude)) rule_of.emplace(name, r);
  }
  for (const auto& [name, module] : model_.named_modules()) {  // registry order
    auto it = rule_of.find(name);
    if (it == rule_of.end()) continue;
    const CompressionRule& rule = rules[it->second];
    auto weight = std::dynamic_pointer_cast<Weight>(module);
    auto slot = std::make_shared<Slot>();
    slot->name = name;
    slot->rows = weight->rows();
    slot->cols = weight->cols();
    slot->compressor = rule.compressor(name, slot->rows, slot->cols);
    MC_CHECK(slot->compressor != nullptr, ValueError, "apply_compression: the factory gave no compressor for " << name);
    const std::string policy = rule.policy.empty() ? policy_for_method(slot->compressor->method()) : rule.policy;
    slot->policy = make_policy(policy, spec_, *slot->compressor);
    names_.push_back(name);
    slots_.push_back(std::move(slot));
  }
  for (const auto& slot : slots_) ensure_seam(*slot);
  if (!on_event) {
    on_event = [](int64_t step, const CompressionController& c) {
      std::fprintf(stderr, "compression event at step %lld\n%s", static_cast<long long>(step), c.report_table().c_str());
    };
  }
}

// A selected layer's seam becomes a CompressedWeight (dense phase, the same A Var, so its
// optimizer state carries over) once, and again after a checkpoint written before the
// compression began (the shared prefix) put a plain DenseWeight back.
void CompressionController::ensure_seam(const Slot& slot) {
  auto module = model_.module(slot.name);
  if (std::dynamic_pointer_cast<CompressedWeight>(module)) return;
  MC_CHECK(module->has_parameter("A"), Error,
           "apply_compression: " << slot.name << " is a " << module->type() << " without a dense matrix A to compress");
  ParamGroup group;
  for (const auto& [pname, g] : module->named_parameter_groups())
    if (pname == "A") group = g;
  model_.replace_module(slot.name, std::make_shared<CompressedWeight>(module->parameter("A"), group));
}

bool CompressionController::before_step(int64_t step) {
  bool event = false;
  for (auto& slot : slots_) {
    ensure_seam(*slot);
    event |= slot->policy->before_step(slot->layer(model_, seed_), step);
  }
  if (event && on_event) on_event(step, *this);
  return event;
}

void CompressionController::after_backward(int64_t step) {
  for (auto& slot : slots_) slot->policy->after_backward(slot->layer(model_, seed_), step);
}

void CompressionController::after_optimizer_step(int64_t) {
  for (auto& slot : slots_)
    if (auto seam = std::dynamic_pointer_cast<CompressedWeight>(model_.module(slot->name))) seam->after_optimizer_step();
}

std::vector<std::string> CompressionController::policies() const {
  std::vector<std::string> out;
  for (const auto& slot : slots_) out.push_back(slot->policy->name());
  return out;
}

std::vector<LayerReport> CompressionController::report() const {
  std::vector<LayerReport> out;
  for (const auto& slot : slots_) {
    const auto seam = std::dynamic_pointer_cast<CompressedWeight>(model_.module(slot->name));
    const std::shared_ptr<CompressedMatrix> matrix = seam ? seam->matrix() : nullptr;
    LayerReport r;
    r.name = slot->name;
    r.method = slot->compressor->method();
    r.phase = phase_name(seam ? seam->phase() : Phase::Dense);
    r.rows = slot->rows;
    r.cols = slot->cols;
    r.dense_bytes = 4 * slot->rows * slot->cols;
    r.stored_bytes = matrix ? matrix->stored_bytes() : r.dense_bytes;
    r.stored_params = (r.stored_bytes + 3) / 4;
    r.settings = matrix ? matrix->settings() : nlohmann::json::object();
    r.rel_error = seam ? seam->rel_error() : 0.0;
    r.alpha = seam ? seam->alpha() : 1.0;
    out.push_back(std::move(r));
  }
  return out;
}

nlohmann::json CompressionController::report_json() const {
  nlohmann::json layers = nlohmann::json::array();
  int64_t dense = 0, stored = 0;
  for (const LayerReport& r : report()) {
    layers.push_back({{"name", r.name}, {"shape", {r.rows, r.cols}}, {"method", r.method}, {"phase", r.phase},
                      {"settings", r.settings}, {"stored_params", r.stored_params}, {"stored_bytes", r.stored_bytes},
                      {"dense_bytes", r.dense_bytes}, {"rel_error", r.rel_error}, {"alpha", r.alpha}});
    dense += r.dense_bytes;
    stored += r.stored_bytes;
  }
  int64_t model_bytes = 0;
  for (const auto& [name, var] : model_.named_parameters()) model_bytes += 4 * var.numel();
  return {{"layers", layers},
          {"selected_dense_bytes", dense},
          {"selected_stored_bytes", stored},
          {"selected_ratio", dense ? static_cast<double>(stored) / static_cast<double>(dense) : 1.0},
          {"model_parameter_bytes", model_bytes}};
}

std::string CompressionController::report_table() const {
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line, "  %-24s %-11s %-9s %-8s %12s %12s %8s %6s\n", "layer", "shape", "method", "phase",
                "dense B", "stored B", "rel.err", "alpha");
  out << line;
  int64_t dense = 0, stored = 0;
  for (const LayerReport& r : report()) {
    const std::string shape = std::to_string(r.rows) + "x" + std::to_string(r.cols);
    std::snprintf(line, sizeof line, "  %-24s %-11s %-9s %-8s %12lld %12lld %8.4f %6.3f\n", r.name.c_str(), shape.c_str(),
                  r.method.c_str(), r.phase.c_str(), static_cast<long long>(r.dense_bytes),
                  static_cast<long long>(r.stored_bytes), r.rel_error, r.alpha);
    out << line;
    dense += r.dense_bytes;
    stored += r.stored_bytes;
  }
  std::snprintf(line, sizeof line, "  total: %lld dense bytes -> %lld stored bytes (ratio %.4f)\n", static_cast<long long>(dense),
                static_cast<long long>(stored), dense ? static_cast<double>(stored) / static_cast<double>(dense) : 1.0);
  out << line;
  return out.str();
}

std::vector<std::string> select_weights(const Module& model, const std::vector<std::string>& include,
                                        const std::vector<std::string>& exclude) {
  MC_CHECK(!include.empty(), ValueError, "no include patterns given (e.g. \"local*.weight\")");
  std::vector<std::string> selected;
  std::string available;
  for (const auto& [name, module] : model.named_modules()) {
    if (!std::dynamic_pointer_cast<Weight>(module)) continue;
    if (!available.empty()) available += ", ";
    available += name;
    if (matches(name, include) && !matches(name, exclude)) selected.push_back(name);
  }
  MC_CHECK(!selected.empty(), ValueError,
           "no weight matches the include patterns (minus exclusions); weights in the model: " << available);
  return selected;
}

std::unique_ptr<CompressionController> apply_compression(Module& model, CompressionSpec spec, uint64_t seed) {
  return std::make_unique<CompressionController>(model, std::move(spec), seed);
}

}  // namespace mc
