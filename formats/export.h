// A model file that runs anywhere (format version 2, docs/EXPORT_FORMAT.md): the model's
// structure description (module_factory.h: root type + config, every module's type and config,
// so each compressed weight's method, settings and phase), its float tensors raw, its integer
// states bit-packed, pruned matrices as their surviving values, all deflated with zlib behind a
// CRC-32. load_exported_model needs nothing but the file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "matcomp/compression/compressed_weight.h"
#include "matcomp/core/tensor.h"
#include "matcomp/layers/modules/module.h"

namespace mc {

struct ExportSize {
  int64_t file_bytes = 0;         // the exported file
  int64_t dense_float_bytes = 0;  // the same model uncompressed, float32 parameters + buffers
};

// Writes `model` atomically. load_exported_model(path) needs its root type registered with
// the module factory; load_exported_model(path, model) does not.
// Training-only state (pruning scores) is left out.
ExportSize export_model(const std::string& path, const Module& model);

// The model the file describes, built through the module factory and loaded, in eval mode.
// IoError naming the file for a corrupt, truncated, old-version or inconsistent file.
std::shared_ptr<Module> load_exported_model(const std::string& path);
// The same into an existing model of the file's root type (its structure is rebuilt to the
// file's).
void load_exported_model(const std::string& path, Module& model);

// One row of `matcomp-model info`: a compressed weight, or a plain tensor outside them.
struct ExportedLayer {
  std::string name;     // "local3.weight", "conv1.bias"
  Shape shape;          // the dense matrix's (rows, cols), or the tensor's shape
  std::string method;   // "dense" for plain tensors
  std::string phase;    // "factored", "blend" or "" for plain tensors
  int64_t stored_bits = 0;  // the method's honest count (CompressedMatrix::stored_bits), 32 per float otherwise
  int64_t weights = 0;      // entries of the dense shape
  bool infers_through_dense = false;  // on the fastest path, a dense matrix formed once (else its own product)
  double bits_per_weight() const { return weights > 0 ? static_cast<double>(stored_bits) / static_cast<double>(weights) : 0.0; }
};

struct ExportedModelInfo {
  std::string type;  // root type, "Cifar10Cnn"
  std::vector<ExportedLayer> layers;
  int64_t file_bytes = 0;
  int64_t dense_float_bytes = 0;  // the model uncompressed
  int64_t resident_bytes = 0;     // held in memory for the weights, multiplying through the methods' own products
  int64_t fastest_resident_bytes = 0;  // the same on the fastest path (InferencePath::Fastest, the loader's default)
};

// Every compressed weight of `model` multiplies at inference on `path` (compressed_weight.h).
// load_exported_model sets Fastest; Product keeps only the factors in memory.
void set_inference_path(Module& model, InferencePath path);

// Loads the file (all checks of load_exported_model) and describes it.
ExportedModelInfo describe_exported_model(const std::string& path);
// The same description of a model in memory (file_bytes 0).
ExportedModelInfo describe_model(const Module& model);

}  // namespace mc
