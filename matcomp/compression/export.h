// Export of a trained (compressed) model that is really small on disk: float tensors raw,
// integer state (codes, signs, masks, sparse indices) bit-packed at the fewest bits that hold
// its largest value, pruned matrices stored as their surviving values only, the whole payload
// deflated with zlib. A loader rebuilds the compressed structure in a freshly built model of
// the same architecture and loads the values, ready for inference.
#pragma once

#include <cstdint>
#include <string>

#include "matcomp/layers/module.h"

namespace mc {

struct ExportSize {
  int64_t file_bytes = 0;         // the exported file
  int64_t dense_float_bytes = 0;  // the same model uncompressed, float32 parameters + buffers
};

// The file carries the model's structure description (module_factory.h), so loading needs no
// compression spec. Written atomically.
ExportSize export_model(const std::string& path, const Module& model);

// `model` must be of the same architecture (any compression state: it is rebuilt to the
// file's structure through the module factory).
void load_exported_model(const std::string& path, Module& model);

}  // namespace mc
