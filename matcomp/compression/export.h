// A model file that runs anywhere (format version 2, docs/EXPORT_FORMAT.md): the architecture
// (root type + config), each compressed weight's method, settings and phase, its float
// factors raw and its integer state bit-packed, pruned matrices as their surviving values, all
// deflated with zlib behind a CRC-32. load_exported_model needs nothing but the file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "matcomp/core/tensor.h"
#include "matcomp/layers/module.h"

namespace mc {

class CompressionController;

struct ExportSize {
  int64_t file_bytes = 0;         // the exported file
  int64_t dense_float_bytes = 0;  // the same model uncompressed, float32 parameters + buffers
};

// Writes `model` (a reference model, compressed or not) atomically. Everything comes from the
// model itself: the compressed weights are found in its registry.
ExportSize export_model(const std::string& path, const Module& model);
// The former signature, kept for callers that still pass their controller (it is not needed).
inline ExportSize export_model(const std::string& path, const Module& model, const CompressionController*) {
  return export_model(path, model);
}

// The model the file describes, built and loaded, ready for inference (eval mode). IoError
// naming the file for a corrupt, truncated, old-version or inconsistent file.
std::shared_ptr<Module> load_exported_model(const std::string& path);

// One row of `matcomp-model info`: a compressed weight, or a plain tensor outside them.
struct ExportedLayer {
  std::string name;     // "local3.weight", "conv1.bias"
  Shape shape;          // the dense matrix's (rows, cols), or the tensor's shape
  std::string method;   // "dense" for plain tensors
  std::string phase;    // "factored", "blended" or "" for plain tensors
  int64_t stored_bits = 0;  // the method's honest count (CompressedMatrix::stored_bits), 32 per float otherwise
  int64_t weights = 0;      // entries of the dense shape
  double bits_per_weight() const { return weights > 0 ? static_cast<double>(stored_bits) / static_cast<double>(weights) : 0.0; }
};

struct ExportedModelInfo {
  std::string type;  // root type, "Cifar10Cnn"
  std::vector<ExportedLayer> layers;
  int64_t file_bytes = 0;
  int64_t dense_float_bytes = 0;  // the model uncompressed
  int64_t resident_bytes = 0;     // what the loaded model holds in memory for its weights
};

// Loads the file (all checks of load_exported_model) and describes it.
ExportedModelInfo describe_exported_model(const std::string& path);
// The same description of a model in memory (file_bytes 0).
ExportedModelInfo describe_model(const Module& model);

}  // namespace mc
