// The safetensors container: an 8-byte little-endian header length N, N bytes of JSON
// mapping each tensor name to {"dtype", "shape", "data_offsets": [begin, end)} (offsets into
// the data section that follows), and "__metadata__" mapping strings to strings. Tensors are
// raw little-endian, C order, stored back to back in the order written.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "matcomp/core/npy.h"

namespace mc {

// numpy dtype ("<f4") <-> safetensors dtype ("F32"); IoError for dtypes without a mapping.
std::string safetensors_dtype(const std::string& npy_dtype);
std::string npy_dtype_from_safetensors(const std::string& st_dtype);

// Written atomically (temporary file + rename).
void write_safetensors(const std::string& path, const std::map<std::string, std::string>& metadata,
                       const std::vector<std::pair<std::string, NpyArray>>& tensors);

struct SafetensorsContents {
  std::map<std::string, std::string> metadata;
  std::map<std::string, NpyArray> tensors;
};
// IoError naming the file and what is wrong: truncated file, header length beyond the file,
// malformed JSON, offsets outside the data section, sizes that do not match dtype and shape.
SafetensorsContents read_safetensors(const std::string& path);

}  // namespace mc
