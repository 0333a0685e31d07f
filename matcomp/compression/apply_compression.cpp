#include "matcomp/compression/apply_compression.h"

#include <fnmatch.h>

#include <cstdio>
#include <cstring>
#include <sstream>

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

enum class Phase { Dense, Blend, Factored };

namespace {
const char* phase_name(Phase p) { return p == Phase::Dense ? "dense" : p == Phase::Blend ? "blend" : "factored"; }
Phase phase_from(const std::string& s) {
  if (s == "blend") return Phase::Blend;
  if (s == "factored") return Phase::Factored;
  MC_CHECK(s == "dense", IoError, "checkpoint: unknown compression phase '" << s << "'");
  return Phase::Dense;
}

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

const NpyArray& lookup(const std::map<std::string, NpyArray>& tensors, const std::string& key) {
  auto it = tensors.find(key);
  MC_CHECK(it != tensors.end(), IoError, "checkpoint has no tensor '" << key << "' needed to rebuild the compressed model");
  return it->second;
}
}  // namespace

struct CompressionController::Slot {
  std::string name;
  int64_t rows = 0, cols = 0;
  ParamGroup group;
  Phase phase = Phase::Dense;
  std::unique_ptr<MatrixCompressor> compressor;
  std::shared_ptr<CompressedMatrix> matrix;
  std::unique_ptr<PruningScore> score;
  SparsitySchedule pruning;  // spec.pruning, its final sparsity resolved for this matrix
  double rel_error = 0;
};

CompressionController::CompressionController(Module& model, CompressionSpec spec, uint64_t seed)
    : model_(model), spec_(std::move(spec)), seed_(seed) {
  MC_CHECK(spec_.compressor != nullptr, ValueError, "apply_compression: no compressor given");
  if (spec_.pruning) spec_.pruning->validate();
  else spec_.schedule.validate();
  for (const std::string& name : select_weights(model_, spec_.include, spec_.exclude)) {
    auto weight = std::dynamic_pointer_cast<Weight>(model_.module(name));
    auto slot = std::make_shared<Slot>();
    slot->name = name;
    slot->rows = weight->rows();
    slot->cols = weight->cols();
    for (const auto& [pname, group] : model_.named_parameter_groups())
      if (pname == name + ".A") slot->group = group;
    slot->compressor = spec_.compressor(name, slot->rows, slot->cols);
    MC_CHECK(slot->compressor != nullptr, ValueError, "apply_compression: the factory gave no compressor for " << name);
    MC_CHECK((slot->compressor->method() == "prune") == spec_.pruning.has_value(), ValueError,
             "apply_compression: " << (spec_.pruning ? "a sparsity schedule needs the 'prune' method"
                                                     : "the 'prune' method needs a sparsity schedule (spec.pruning)")
                                   << ", got method '" << slot->compressor->method() << "' for " << name);
    if (spec_.pruning) {
      slot->pruning = *spec_.pruning;
      if (slot->pruning.final_sparsity < 0) {
        auto* prune = dynamic_cast<const PruneCompressor*>(slot->compressor.get());
        MC_CHECK(prune != nullptr, ValueError,
                 "apply_compression: spec.pruning has no final_sparsity and the compressor for " << name
                                                                                                << " is not a PruneCompressor to take it from");
        slot->pruning.final_sparsity = prune->settings().sparsity;
      }
      slot->pruning.validate();
    }
    if (spec_.pruning && spec_.score != PruningScore::Kind::Magnitude)
      slot->score = std::make_unique<PruningScore>(spec_.score, Shape{slot->rows, slot->cols});
    names_.push_back(name);
    slots_.push_back(std::move(slot));
  }
  if (!on_event) {
    on_event = [](int64_t step, const CompressionController& c) {
      std::fprintf(stderr, "compression event at step %lld\n%s", static_cast<long long>(step), c.report_table().c_str());
    };
  }
}

void CompressionController::factor(Slot& slot, int64_t step) {
  Var a = model_.parameter(slot.name + ".A");
  Rng rng(seed_ ^ stable_hash(slot.name));
  slot.matrix = std::shared_ptr<CompressedMatrix>(slot.compressor->compress(a.value(), rng));
  if (spec_.pruning) {
    // compress() checked the final sparsity; gradual pruning starts from the schedule's
    // sparsity at this step, on A's full values (compress() zeroed the entries it pruned).
    MC_CHECK(dynamic_cast<PrunedMatrix*>(slot.matrix.get()) != nullptr, Error,
             "the prune compressor did not return a PrunedMatrix");
    const Tensor scores = slot.score ? slot.score->scores(a.value())
                                     : PruningScore(PruningScore::Kind::Magnitude, a.shape()).scores(a.value());
    const int64_t keep = kept_count(a.numel(), slot.pruning.sparsity(step));
    slot.matrix = std::make_shared<PrunedMatrix>(a.value().clone(), top_k_mask(scores.data(), scores.numel(), keep));
  }
  slot.rel_error = slot.matrix->relative_error(a.value());
  const double alpha = spec_.pruning ? 0.0 : spec_.schedule.alpha(step);
  if (alpha <= 0.0) {
    model_.replace_module(slot.name, std::make_shared<FactoredWeight>(slot.matrix, slot.group));
    slot.phase = Phase::Factored;
  } else {
    model_.replace_module(slot.name, std::make_shared<BlendedWeight>(a, slot.group, slot.matrix, slot.group, alpha));
    slot.phase = Phase::Blend;
  }
}

void CompressionController::switch_to_factored(Slot& slot) {
  // The BlendedWeight, and with it the last reference to A, leaves the model here.
  model_.replace_module(slot.name, std::make_shared<FactoredWeight>(slot.matrix, slot.group));
  slot.phase = Phase::Factored;
}

bool CompressionController::before_step(int64_t step) {
  bool event = false;
  for (auto& slot : slots_) {
    if (spec_.pruning) {
      const SparsitySchedule& p = slot->pruning;
      if (slot->phase == Phase::Dense && step >= p.begin_step) {
        factor(*slot, step);
        event = true;
      } else if (slot->phase == Phase::Factored && p.is_mask_update(step)) {
        auto* pruned = static_cast<PrunedMatrix*>(slot->matrix.get());
        const Tensor values = pruned->factors()[0].value;  // factors() is a fresh vector
        if (slot->score) slot->score->mask_update(values);
        const Tensor scores = slot->score ? slot->score->scores(values) : PruningScore(PruningScore::Kind::Magnitude, values.shape()).scores(values);
        const Tensor before = values.clone();
        pruned->update_mask(scores, p.sparsity(step));
        slot->rel_error = pruned->relative_error(before);  // what this mask update removed
        event |= step == p.end_step;
      }
      continue;
    }
    if (slot->phase == Phase::Dense && spec_.schedule.updates_through(step) > 0) {
      factor(*slot, step);
      event = true;
    } else if (slot->phase == Phase::Blend) {
      const double alpha = spec_.schedule.alpha(step);
      if (alpha <= 0.0) {
        switch_to_factored(*slot);
        event = true;
      } else {
        std::static_pointer_cast<BlendedWeight>(model_.module(slot->name))->set_alpha(alpha);
      }
    }
  }
  if (event && on_event) on_event(step, *this);
  return event;
}

void CompressionController::after_backward(int64_t step) {
  if (!spec_.pruning || step > spec_.pruning->end_step) return;
  for (auto& slot : slots_) {
    if (!slot->score) continue;
    const std::string param = slot->name + (slot->phase == Phase::Dense ? ".A" : ".values");
    Var w = model_.parameter(param);
    if (w.grad().defined()) slot->score->step(w.value(), w.grad());
  }
}

void CompressionController::after_optimizer_step(int64_t) {
  for (auto& slot : slots_)
    if (slot->matrix) slot->matrix->after_optimizer_step();
}

std::vector<LayerReport> CompressionController::report() const {
  std::vector<LayerReport> out;
  for (const auto& slot : slots_) {
    LayerReport r;
    r.name = slot->name;
    r.method = slot->compressor->method();
    r.phase = phase_name(slot->phase);
    r.rows = slot->rows;
    r.cols = slot->cols;
    r.dense_bytes = 4 * slot->rows * slot->cols;
    r.stored_bytes = slot->matrix ? slot->matrix->stored_bytes() : r.dense_bytes;
    r.stored_params = (r.stored_bytes + 3) / 4;
    r.settings = slot->matrix ? slot->matrix->settings() : nlohmann::json::object();
    r.rel_error = slot->rel_error;
    r.alpha = slot->phase == Phase::Blend ? std::static_pointer_cast<BlendedWeight>(model_.module(slot->name))->alpha()
                                           : (slot->phase == Phase::Dense ? 1.0 : 0.0);
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

nlohmann::json CompressionController::state_json() const {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& slot : slots_) {
    nlohmann::json l = {{"name", slot->name}, {"phase", phase_name(slot->phase)}, {"rel_error", slot->rel_error}};
    if (slot->score) l["score_snapshots"] = slot->score->snapshots();
    if (slot->matrix) {
      l["method"] = slot->matrix->method();
      l["settings"] = slot->matrix->settings();
      nlohmann::json factors = nlohmann::json::array();
      for (const Factor& f : slot->matrix->factors()) factors.push_back({{"name", f.name}, {"trainable", f.trainable}});
      l["factors"] = factors;
    }
    layers.push_back(std::move(l));
  }
  return {{"layers", layers}};
}

std::map<std::string, NpyArray> CompressionController::state_tensors() const {
  std::map<std::string, NpyArray> out;
  for (const auto& slot : slots_) {
    // Pruning scores accumulate from step 0, before the matrix exists.
    if (slot->score)
      for (const auto& [key, t] : slot->score->state()) out["compression." + slot->name + ".score_" + key] = to_npy_array(t);
    if (!slot->matrix) continue;
    for (auto& [key, array] : slot->matrix->integer_state()) out["compression." + slot->name + "." + key] = array;
  }
  return out;
}

void CompressionController::restore(const nlohmann::json& state, const std::map<std::string, NpyArray>& tensors) {
  MC_CHECK(state.contains("layers") && state["layers"].is_array(), IoError, "checkpoint: compression state has no layers");
  for (const auto& l : state["layers"]) {
    const std::string name = l.at("name").get<std::string>();
    auto it = std::find_if(slots_.begin(), slots_.end(), [&](const auto& s) { return s->name == name; });
    MC_CHECK(it != slots_.end(), IoError,
             "checkpoint compresses '" << name << "', which this run's include/exclude patterns do not select");
    Slot& slot = **it;
    slot.rel_error = l.value("rel_error", 0.0);
    if (slot.score) {
      std::map<std::string, Tensor> score_state;
      const std::string score_prefix = "extra.compression." + name + ".score_";
      for (const auto& [key, array] : tensors)
        if (key.rfind(score_prefix, 0) == 0) score_state[key.substr(score_prefix.size())] = from_npy_array(array, key);
      // An exported model carries no scores (inference only); a training checkpoint always does.
      if (!score_state.empty()) slot.score->restore(score_state, l.value("score_snapshots", 0));
    }
    const Phase phase = phase_from(l.at("phase").get<std::string>());
    if (phase == Phase::Dense) continue;
    std::map<std::string, Tensor> factors;
    for (const auto& f : l.at("factors")) {
      const std::string fname = f.at("name").get<std::string>();
      const std::string key = (f.at("trainable").get<bool>() ? "model." : "buffer.") + name + "." + fname;
      factors[fname] = from_npy_array(lookup(tensors, key), "checkpoint tensor '" + key + "'");
    }
    std::map<std::string, NpyArray> integer_state;
    const std::string prefix = "extra.compression." + name + ".";
    for (const auto& [key, array] : tensors)
      if (key.rfind(prefix, 0) == 0 && key.rfind(prefix + "score_", 0) != 0) integer_state[key.substr(prefix.size())] = array;
    slot.matrix = std::shared_ptr<CompressedMatrix>(
        restore_compressed(l.at("method").get<std::string>(), l.at("settings"), factors, integer_state));
    if (phase == Phase::Blend) {
      const std::string key = "model." + name + ".A";
      Var a(from_npy_array(lookup(tensors, key), "checkpoint tensor '" + key + "'"), true, "A");
      const double alpha = 1.0;  // set by the next before_step(), a pure function of the step
      model_.replace_module(name, std::make_shared<BlendedWeight>(a, slot.group, slot.matrix, slot.group, alpha));
    } else {
      model_.replace_module(name, std::make_shared<FactoredWeight>(slot.matrix, slot.group));
    }
    slot.phase = phase;
  }
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
