#include "matcomp/layers/modules/init.h"

#include <cmath>

namespace mc {

Tensor truncated_normal(Shape shape, float stddev, Rng& rng) {
  Tensor t = Tensor::empty(std::move(shape));
  for (float& v : t.span()) {
    float z;
    do z = rng.normal(); while (std::fabs(z) > 2.0f);
    v = z * stddev;
  }
  return t;
}

Tensor uniform_init(Shape shape, float limit, Rng& rng) {
  Tensor t = Tensor::empty(std::move(shape));
  rng.fill_uniform(t, -limit, limit);
  return t;
}

Tensor glorot_uniform(int64_t fan_in, int64_t fan_out, Rng& rng) {
  const float limit = std::sqrt(6.0f / static_cast<float>(fan_in + fan_out));
  return uniform_init({fan_in, fan_out}, limit, rng);
}

}  // namespace mc
