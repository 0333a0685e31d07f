// apply_compression: the seed's operator on a live model.
//
//   CompressionSpec spec;
//   spec.include = {"local3.weight", "local4.weight"};          // weight seams, glob patterns
//   spec.compressor = by_ratio("lowrank", 0.25);                 // or any MatrixCompressor
//   spec.schedule = {40000, 100000, 100, 0.005};                 // the reference's schedule
//   auto compression = apply_compression(model, spec, seed);
//   for (step = 0; ...; ++step) {
//     compression->before_step(step);        // may factor A, lower alpha, or switch
//     loss = ...forward...; loss.backward();
//     compression->after_backward(step);     // pruning scores
//     optimizer.step();
//     compression->after_optimizer_step(step);  // pruning masks re-applied
//   }
//
// Mixing methods: spec.rules, each with its own patterns and compressor, first match wins,
// before the spec's own include/compressor (which may then be left empty):
//   spec.rules = {{{"local3.weight"}, {}, by_ratio("lowrank", 0.25)},
//                 {{"local4.weight"}, {}, by_ratio("kmeans", 0.1)},
//                 {{"conv2.weight"}, {}, by_ratio("prune", 0.3)}};   // needs spec.pruning
//
// Each selected layer's "weight" child becomes a CompressedWeight (compressed_weight.h) that
// holds everything about its compression in the model's registry; its transition policy
// (transition_policy.h: "blend" or "prune") moves it from dense to blend to factored. The
// controller is the clock and nothing else: it holds no state a checkpoint needs, so
// save_checkpoint / apply_checkpoint (formats/checkpoint.h) alone save and resume it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "matcomp/compression/compressed_weight.h"
#include "matcomp/compression/matrix_compressor.h"
#include "matcomp/compression/transition_policy.h"
#include "matcomp/compression/methods/pruning.h"
#include "matcomp/compression/schedule.h"
#include "matcomp/layers/modules/module.h"

namespace mc {

// Builds the compressor for one selected matrix (name, m, n).
using CompressorFactory = std::function<std::unique_ptr<MatrixCompressor>(const std::string& name, int64_t m, int64_t n)>;

// The same compressor for every matrix.
CompressorFactory with(std::shared_ptr<MatrixCompressor> compressor);
// Settings derived per matrix from a target ratio (stored / dense float32).
CompressorFactory by_ratio(const std::string& method, double ratio, nlohmann::json options = {});

// Layers matching `include` (and not `exclude`) are compressed with `compressor`, following
// `policy` ("" = the method's own, registry.h's policy_for_method).
struct CompressionRule {
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  CompressorFactory compressor;
  std::string policy;
};

struct CompressionSpec {
  std::vector<std::string> include;  // glob patterns over weight seam names ("local*.weight")
  std::vector<std::string> exclude;
  CompressorFactory compressor;
  // Per-layer methods, tried in order before include/compressor above; a layer takes the
  // first rule that matches it. Each rule must select at least one layer.
  std::vector<CompressionRule> rules;
  BlendSchedule schedule;            // layers following the "blend" policy
  // Layers following the "prune" policy: the sparsity schedule, and how entries are scored.
  std::optional<SparsitySchedule> pruning;
  PruningScore::Kind score = PruningScore::Kind::Magnitude;
};

// One line of the per-layer report.
struct LayerReport {
  std::string name, method, phase;  // phase: dense, blend, factored
  int64_t rows = 0, cols = 0;
  nlohmann::json settings;
  int64_t dense_bytes = 0, stored_bytes = 0, stored_params = 0;
  // ||A - BC||_F / ||A||_F when A was factored; for pruning, the part of the values that the
  // latest mask update removed.
  double rel_error = 0, alpha = 1;
};

class CompressionController {
 public:
  CompressionController(Module& model, CompressionSpec spec, uint64_t seed);

  // Call before the forward pass of `step`. Returns true if the model changed structure.
  bool before_step(int64_t step);
  void after_backward(int64_t step);
  void after_optimizer_step(int64_t step);

  const std::vector<std::string>& selected() const { return names_; }
  std::vector<LayerReport> report() const;
  nlohmann::json report_json() const;  // layers + totals (dense vs compressed bytes of the selected matrices)
  std::string report_table() const;    // the same, for a terminal
  // Called with the report whenever a compression event happened (default: print the table).
  std::function<void(int64_t step, const CompressionController&)> on_event;

  // The policy each selected layer follows, in selected() order.
  std::vector<std::string> policies() const;

 private:
  struct Slot;
  void ensure_seam(const Slot& slot);
  Module& model_;
  CompressionSpec spec_;
  uint64_t seed_;
  std::vector<std::string> names_;
  std::vector<std::shared_ptr<Slot>> slots_;
};

std::unique_ptr<CompressionController> apply_compression(Module& model, CompressionSpec spec, uint64_t seed);

// Names of the weight seams that `include` (glob patterns) matches and `exclude` does not,
// in registry order. Throws ValueError listing the model's weights when nothing matches.
std::vector<std::string> select_weights(const Module& model, const std::vector<std::string>& include,
                                        const std::vector<std::string>& exclude = {});

}  // namespace mc
