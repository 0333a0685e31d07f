// The methods by name: build a compressor from explicit settings or from a target ratio, and
// rebuild a CompressedMatrix from a checkpoint or an export. Built in: "lowrank", "simhash",
// "kmeans", "dictionary", "prune". A new method is one file pair and one register_method()
// call (docs/COMPRESSION.md, "Writing your own method"); every list of methods (CLI choices,
// sweeps, tools, benchmarks) comes from registered_methods().
//
//   auto c = compressor_for_ratio("lowrank", 2304, 384, 0.25);   // largest rank within 25%
//   std::unique_ptr<CompressedMatrix> f = c->compress(a, rng);
//   auto again = restore_compressed(f->method(), f->settings(), factors_by_name, f->integer_state());
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "matcomp/compression/matrix_compressor.h"

namespace mc {

// Settings, by method (unknown keys are refused, so typos do not pass silently):
//   lowrank:    rank; solver "auto" | "full" | "randomized"; oversample (10); power_iters (4)
//   simhash:    bits; seed (optional: otherwise drawn from the Rng given to compress)
//   kmeans:     levels; block (1); iters; restarts; zero_centroid (true)
//   dictionary: atoms; nnz; iters (10)
//   prune:      sparsity
std::unique_ptr<MatrixCompressor> make_compressor(const std::string& method, const nlohmann::json& settings);

// The largest setting whose stored size stays within ratio * (32 m n) bits (and below dense).
// The compressor's ratio_for(m, n) reports what is achieved. Options fix the other knobs:
//   kmeans:     block (default: the largest of 1, 2, 4 whose level count stays below
//               max_levels), max_levels (256), plus any kmeans setting;
//   dictionary: nnz (8) or atoms (the other one is maximised), iters;
//   lowrank:    solver, oversample, power_iters;   simhash: seed.
std::unique_ptr<MatrixCompressor> compressor_for_ratio(const std::string& method, int64_t m, int64_t n, double ratio,
                                                       const nlohmann::json& options = {});

// Rebuilds a compressed matrix from settings(), the factors (by Factor::name) and
// integer_state() of the original; the result materializes bit-identically.
std::unique_ptr<CompressedMatrix> restore_compressed(const std::string& method, const nlohmann::json& settings,
                                                     const std::map<std::string, Tensor>& factors,
                                                     const std::map<std::string, NpyArray>& integer_state);

struct MethodEntry {
  std::function<std::unique_ptr<MatrixCompressor>(const nlohmann::json& settings)> make;
  // Optional: without it compressor_for_ratio refuses the method.
  std::function<std::unique_ptr<MatrixCompressor>(int64_t m, int64_t n, double ratio, const nlohmann::json& options)> for_ratio;
  std::function<std::unique_ptr<CompressedMatrix>(const nlohmann::json& settings, const std::map<std::string, Tensor>& factors,
                                                  const std::map<std::string, NpyArray>& integer_state)>
      restore;
  // The transition policy its layers follow (transition_policy.h): "blend" unless the method
  // says otherwise ("prune").
  std::string policy = "blend";
};

// The policy registered for `method`; "blend" for a method the registry does not know (a
// compressor given directly through with()).
std::string policy_for_method(const std::string& method);

// Adds (or replaces) a method. Not thread-safe against concurrent lookups: register at start-up.
void register_method(const std::string& name, MethodEntry entry);
// Built-ins first (lowrank, simhash, kmeans, dictionary, prune, quantize), then registered ones.
std::vector<std::string> registered_methods();

}  // namespace mc
