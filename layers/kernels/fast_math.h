// Vectorisable exp, sigmoid and tanh for the fused kernels. glibc's expf is only vectorised
// under -ffast-math, which we do not use project-wide; these inline versions are plain
// arithmetic, so `#pragma omp simd` loops over them become AVX code.
//
// exp(x) = 2^n * e^r with n = round(x / ln 2) and |r| <= ln(2)/2; e^r by its Taylor series to
// degree 7 (truncation below 1e-8 relative, i.e. float rounding dominates).
#pragma once

#include <bit>
#include <cstdint>

namespace mc::fast {

#pragma omp declare simd
inline float exp(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  // Round to nearest by adding and subtracting 1.5 * 2^23 (no rounding call: that would
  // keep the loop scalar).
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  // r = x - n ln2 in two parts (Cody-Waite), so r keeps full precision for large |x|.
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  return p * std::bit_cast<float>(bits);
}

#pragma omp declare simd
inline float sigmoid(float x) { return 1.0f / (1.0f + fast::exp(-x)); }

// tanh(x) = 2 sigmoid(2x) - 1: absolute error ~1e-7 near 0, exact limits at +-1.
#pragma omp declare simd
inline float tanh(float x) { return 2.0f / (1.0f + fast::exp(-2.0f * x)) - 1.0f; }

}  // namespace mc::fast
