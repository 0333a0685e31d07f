// Weight initialisers, all drawing from the caller's seeded Rng.
#pragma once

#include "matcomp/core/rng.h"
#include "matcomp/core/tensor.h"

namespace mc {

// Normal(0, stddev) resampled until |x| <= 2 stddev (TensorFlow's truncated_normal).
Tensor truncated_normal(Shape shape, float stddev, Rng& rng);
// Uniform(-limit, limit).
Tensor uniform_init(Shape shape, float limit, Rng& rng);
// Glorot/Xavier uniform for a (fan_in, fan_out) matrix.
Tensor glorot_uniform(int64_t fan_in, int64_t fan_out, Rng& rng);

}  // namespace mc
