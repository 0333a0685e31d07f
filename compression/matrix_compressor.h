// MatrixCompressor: one method of factoring a matrix. A new method is one class that
// implements compress() (and, to be chosen by a target ratio, settings_for_ratio()).
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "matcomp/compression/compressed_matrix.h"
#include "matcomp/core/rng.h"

namespace mc {

class MatrixCompressor {
 public:
  virtual ~MatrixCompressor() = default;
  virtual std::string method() const = 0;

  // Factors A (m, n). Throws ValueError for empty or non-finite input and for settings that
  // would store more than the dense matrix (the message says what the limit is).
  virtual std::unique_ptr<CompressedMatrix> compress(const Tensor& a, Rng& rng) const = 0;

  // Size of the compressed form as a fraction of dense float32 storage, for an m x n matrix,
  // with the current settings (exact, matches stored_bits() of the result).
  virtual double ratio_for(int64_t m, int64_t n) const = 0;
};

}  // namespace mc
