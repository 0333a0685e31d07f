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
// Everything goes through the model's registry: the layer's "weight" child is replaced by a
// BlendedWeight (A plus the factors) at the first update and by a FactoredWeight (factors
// only) when alpha reaches 0. The optimizer notices the registry changed and drops A's state;
// the factors start with fresh state. Once the BlendedWeight is gone, A's memory is freed.
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
#include "matcomp/compression/pruning.h"
#include "matcomp/compression/schedule.h"
#include "matcomp/layers/module.h"

namespace mc {

// Builds the compressor for one selected matrix (name, m, n).
using CompressorFactory = std::function<std::unique_ptr<MatrixCompressor>(const std::string& name, int64_t m, int64_t n)>;

// The same compressor for every matrix.
CompressorFactory with(std::shared_ptr<MatrixCompressor> compressor);
// Settings derived per matrix from a target ratio (stored / dense float32).
CompressorFactory by_ratio(const std::string& method, double ratio, nlohmann::json options = {});

struct CompressionSpec {
  std::vector<std::string> include;  // glob patterns over weight seam names ("local*.weight")
  std::vector<std::string> exclude;
  CompressorFactory compressor;
  BlendSchedule schedule;            // blending methods
  // Pruning ("prune" compressors): the sparsity schedule, and how entries are scored.
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

  // Checkpoints: the structure (phases, methods, settings, integer state), to be saved with
  // the model and restored BEFORE the model's parameters are loaded.
  nlohmann::json state_json() const;
  std::map<std::string, NpyArray> state_tensors() const;  // keys "compression.<layer>.<array>"
  // `tensors` is a checkpoint's whole tensor map: factors are read from "model.<layer>.<factor>"
  // and "buffer.<layer>.<factor>", integer state from "extra.compression.<layer>.<array>".
  void restore(const nlohmann::json& state, const std::map<std::string, NpyArray>& tensors);

 private:
  struct Slot;
  void factor(Slot& slot, int64_t step);
  void switch_to_factored(Slot& slot);
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
