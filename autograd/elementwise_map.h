// The loop behind every one-input elementwise op (neg, scale, add_scalar, the nonlinearities
// and their backward rules): out[i] = f(x[i]), shared out over threads on large tensors.
#pragma once

#include <cstdint>

#include "matcomp/core/tensor.h"

namespace mc {

template <typename F>
Tensor elementwise_map(const Tensor& x, F f) {
  Tensor out = Tensor::empty(x.shape());
  const float* px = x.data();
  float* po = out.data();
  const int64_t n = x.numel();
#pragma omp parallel for simd if (n > 65536)
  for (int64_t i = 0; i < n; ++i) po[i] = f(px[i]);
  return out;
}

}  // namespace mc
