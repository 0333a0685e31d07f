// The bytes of a model file (format version 2, docs/EXPORT_FORMAT.md), apart from what the
// values mean: a JSON description, float tensors (raw float32, or only the entries a 0/1 mask
// keeps) and integer arrays (bit-packed), deflated with zlib, behind a fixed header holding
// the magic, the version and a CRC-32 of everything after the CRC. export.h turns a model into
// these contents and back.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "matcomp/core/npy.h"
#include "matcomp/core/tensor.h"

namespace mc {

inline constexpr uint32_t kModelFileVersion = 2;

struct ModelFileContents {
  nlohmann::json model;  // what the model is (architecture, structure): stored as given
  std::vector<std::pair<std::string, Tensor>> floats;      // by name, in order
  std::vector<std::pair<std::string, NpyArray>> integers;  // by name, integer dtypes only
  // float name -> name of an integer array of 0/1 with as many elements: only the entries
  // where it is 1 are stored; decoding puts zeros elsewhere (exact for pruned matrices).
  std::map<std::string, std::string> masked_by;
};

// The file's bytes. ValueError when a mask is missing, not 0/1, or of the wrong size, or a
// masked tensor is not zero off its mask (that would be lost).
std::string encode_model_file(const ModelFileContents& contents);

// The inverse. IoError naming `source` (the path) for anything wrong: bad magic, another
// format version (named), CRC mismatch, truncation, inconsistent lengths or shapes.
ModelFileContents decode_model_file(std::string_view bytes, const std::string& source);

}  // namespace mc
