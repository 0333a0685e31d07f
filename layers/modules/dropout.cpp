#include "matcomp/layers/modules/dropout.h"

#include "matcomp/autograd/node.h"
#include "matcomp/core/error.h"

namespace mc {

Var apply_mask(const Var& x, const Tensor& mask) {
  MC_CHECK(x.shape() == mask.shape(), ShapeError,
           "dropout mask " << to_string(mask.shape()) << " for input " << to_string(x.shape()));
  Tensor out = Tensor::empty(x.shape());
  const float* px = x.value().data();
  const float* pm = mask.data();
  float* po = out.data();
  const int64_t n = out.numel();
#pragma omp parallel for simd if (n > 65536)
  for (int64_t i = 0; i < n; ++i) po[i] = px[i] * pm[i];
  // The mask is ours alone (never written after this), so it is captured without a version guard.
  return record("dropout", std::move(out), {x}, [mask](const Grads& g, const Needs&) {
    Tensor gx = Tensor::empty(mask.shape());
    const float* pg = g[0].data();
    const float* pm = mask.data();
    float* pgx = gx.data();
    const int64_t n = gx.numel();
#pragma omp parallel for simd if (n > 65536)
    for (int64_t i = 0; i < n; ++i) pgx[i] = pg[i] * pm[i];
    return Grads{gx};
  });
}

Dropout::Dropout(float p, Rng* rng, uint64_t seed) : p_(p), own_rng_(seed), rng_(rng ? rng : &own_rng_) {
  MC_CHECK(p >= 0.0f && p < 1.0f, ValueError, "dropout probability must be in [0, 1), got " << p);
}

Tensor Dropout::make_mask(const Shape& shape) {
  Tensor mask = Tensor::empty(shape);
  const float keep = 1.0f - p_, scale = 1.0f / keep;
  // Serial on purpose: the stream order must not depend on the thread count.
  for (float& m : mask.span()) m = rng_->uniform() < keep ? scale : 0.0f;
  return mask;
}

Var Dropout::forward(const Var& x) {
  if (!is_training() || p_ == 0.0f) return x;
  return apply_mask(x, make_mask(x.shape()));
}

}  // namespace mc
