// Uniform b-bit quantization, per output column: A (m, n) ~ Â with
//   Â[i, j] = offset[j] + scale[j] u[q[i, j]],   u[q] = (2 q - top) / top,   q in 0 .. top = 2^b - 1,
// so column j is snapped to 2^b evenly spaced levels from offset[j] - scale[j] to
// offset[j] + scale[j] (the step is 2 scale[j] / top). The scale is the half-range rather than
// the step so that its gradient, sum_i dÂ[i, j] u[q], has the size of the offset's whatever b.
// Stored: b bits per entry plus two float32 per column.
//
// Training (docs/COMPRESSION.md, "Quantization"): the codes are fixed at the compression
// event; scale and offset train with their exact gradients. With frozen codes there is no
// rounding left in the graph after the event, so the straight-through estimator of
// learned-step-size quantization (LSQ) has nothing to pass through, and the step's gradient
// is exact (sum_i dÂ[i, j] u[q[i, j]]) rather than LSQ's surrogate. Re-rounding the codes
// would need a float copy of A kept beside them, which is the dense matrix this method exists
// to drop (from training memory, checkpoints and the exported file).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "matcomp/compression/matrix_compressor.h"
#include "matcomp/compression/registry.h"

namespace mc {

class QuantizedMatrix final : public CompressedMatrix {
 public:
  // scale (n), offset (n), codes (m n, row-major) each below 2^bits.
  QuantizedMatrix(int64_t m, int64_t n, int bits, Tensor scale, Tensor offset, std::vector<uint8_t> codes);

  std::string method() const override { return "quantize"; }
  int64_t rows() const override { return m_; }
  int64_t cols() const override { return n_; }
  int bits() const { return bits_; }
  // "scale" and "offset", both trainable. Each is shared by the m entries of its column, so its
  // learning rate is scaled by 1 / (mean squared derivative of a column's entries with respect
  // to it): 1 / m for the offset, 1 / mean_j sum_i u[q]^2 for the scale (Factor::lr_scale).
  std::vector<Factor> factors() const override;
  nlohmann::json settings() const override;  // {"bits": b}
  Tensor materialize() const override;
  void materialize_backward(const Tensor& d_dense, std::vector<Tensor>& factor_grads) const override;
  // The default product, through Â: the autograd ops keep the Â of the forward for the
  // backward, and y starts at the bias, which the sgemm then adds into (no pass over y).
  bool multiplies_through_dense(int64_t) const override { return true; }
  // m n b + 64 n.
  int64_t stored_bits() const override;
  std::map<std::string, NpyArray> integer_state() const override;  // "codes" (m, n)
  const std::vector<uint8_t>& codes() const { return codes_; }

 private:
  int64_t m_, n_;
  int bits_;
  Tensor scale_, offset_;
  std::vector<uint8_t> codes_;
  std::vector<float> unit_;  // u[q] for q in 0 .. 2^b - 1
  float scale_lr_ = 1.0f;
};

struct QuantizeSettings {
  int bits = 0;    // 1 .. 8
  // Rounds of the fit below; 0 keeps the min-max grid. Stops early once the codes settle.
  int iters = 20;
};

// Per column: starts from the min-max grid (every entry inside it), then alternates the
// least-squares (scale, offset) for the current codes with re-rounding the column to the new
// grid. Neither half can raise the squared error, so it falls monotonically to a fixed point
// (a local optimum of the uniform-grid fit: below min-max whenever the column has outliers).
class QuantizeCompressor final : public MatrixCompressor {
 public:
  explicit QuantizeCompressor(QuantizeSettings settings);
  std::string method() const override { return "quantize"; }
  std::unique_ptr<CompressedMatrix> compress(const Tensor& a, Rng& rng) const override;
  double ratio_for(int64_t m, int64_t n) const override;
  const QuantizeSettings& settings() const { return s_; }

 private:
  QuantizeSettings s_;
};

int64_t quantize_stored_bits(int64_t m, int64_t n, int bits);

// The registry's entry: settings {"bits", "iters"}; by ratio the largest bits whose
// stored size (codes, scales and offsets) fits.
MethodEntry quantize_method();

}  // namespace mc
