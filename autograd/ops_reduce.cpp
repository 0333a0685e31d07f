// sum and mean, over everything or along one axis.
#include "matcomp/autograd/broadcast.h"
#include "matcomp/autograd/node.h"
#include "matcomp/autograd/ops.h"
#include "matcomp/core/error.h"

namespace mc {

namespace {

// View x as (outer, extent, inner) around `axis`.
struct AxisSplit {
  int64_t outer = 1, extent = 1, inner = 1;
};

AxisSplit split_at(const Shape& shape, int64_t axis) {
  AxisSplit s;
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) {
    if (i < axis) s.outer *= shape[static_cast<size_t>(i)];
    else if (i == axis) s.extent = shape[static_cast<size_t>(i)];
    else s.inner *= shape[static_cast<size_t>(i)];
  }
  return s;
}

int64_t normalize_axis(int64_t axis, const Shape& shape) {
  const int64_t r = static_cast<int64_t>(shape.size());
  const int64_t a = axis < 0 ? axis + r : axis;
  MC_CHECK(a >= 0 && a < r, ShapeError, "axis " << axis << " out of range for shape " << to_string(shape));
  return a;
}

Var scaled_total(const char* name, const Var& x, float factor) {
  double total = 0;
  for (float v : x.value().span()) total += v;
  Tensor out = Tensor::scalar(static_cast<float>(total * factor));
  return record(name, std::move(out), {x}, [shape = x.shape(), factor](const Grads& g, const Needs&) {
    return Grads{Tensor::full(shape, g[0].item() * factor)};
  });
}

Var scaled_axis(const char* name, const Var& x, int64_t axis, bool keepdim, float factor) {
  const int64_t a = normalize_axis(axis, x.shape());
  const AxisSplit s = split_at(x.shape(), a);
  Shape out_shape = x.shape();
  if (keepdim) out_shape[static_cast<size_t>(a)] = 1;
  else out_shape.erase(out_shape.begin() + a);
  Tensor out = Tensor::zeros(out_shape);
  const float* px = x.value().data();
  float* po = out.data();
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t e = 0; e < s.extent; ++e)
      for (int64_t i = 0; i < s.inner; ++i) po[o * s.inner + i] += px[(o * s.extent + e) * s.inner + i] * factor;
  return record(name, std::move(out), {x}, [shape = x.shape(), s, factor](const Grads& g, const Needs&) {
    Tensor gx = Tensor::empty(shape);
    const float* pg = g[0].data();
    float* pgx = gx.data();
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t e = 0; e < s.extent; ++e)
        for (int64_t i = 0; i < s.inner; ++i) pgx[(o * s.extent + e) * s.inner + i] = pg[o * s.inner + i] * factor;
    return Grads{gx};
  });
}

}  // namespace

Var sum(const Var& x) { return scaled_total("sum", x, 1.0f); }

Var mean(const Var& x) {
  MC_CHECK(x.numel() > 0, ShapeError, "mean of an empty tensor " << to_string(x.shape()));
  return scaled_total("mean", x, 1.0f / static_cast<float>(x.numel()));
}

Var sum(const Var& x, int64_t axis, bool keepdim) { return scaled_axis("sum_axis", x, axis, keepdim, 1.0f); }

Var mean(const Var& x, int64_t axis, bool keepdim) {
  const int64_t extent = x.value().size(axis);
  MC_CHECK(extent > 0, ShapeError, "mean over an empty axis of " << to_string(x.shape()));
  return scaled_axis("mean_axis", x, axis, keepdim, 1.0f / static_cast<float>(extent));
}

}  // namespace mc
