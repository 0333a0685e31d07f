#include "matcomp/autograd/broadcast.h"

#include <algorithm>
#include <cstring>

#include "matcomp/core/error.h"

namespace mc {

Shape broadcast_shape(const Shape& a, const Shape& b) {
  const size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    const int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    const int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    MC_CHECK(da == db || da == 1 || db == 1, ShapeError,
             "shapes " << to_string(a) << " and " << to_string(b) << " do not broadcast (axis " << i << ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

namespace {

// Strides of `in` seen through the broadcast shape `out` (0 where an axis is stretched).
std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  const size_t r = out.size(), lead = r - in.size();
  std::vector<int64_t> strides(r, 0);
  int64_t s = 1;
  for (size_t i = r; i-- > lead;) {
    const int64_t extent = in[i - lead];
    strides[i] = extent == 1 ? 0 : s;
    s *= extent;
  }
  return strides;
}

// Calls visit(out_index, in_index) for every element of `out`, walking a multi-index.
template <typename Visit>
void for_each_broadcast(const Shape& out, const std::vector<int64_t>& sa, const std::vector<int64_t>& sb, Visit visit) {
  const size_t r = out.size();
  const int64_t n = numel_of(out);
  if (n == 0) return;
  std::vector<int64_t> idx(r, 0);
  int64_t ia = 0, ib = 0;
  const int64_t inner = r ? out[r - 1] : 1;
  const int64_t inner_sa = r ? sa[r - 1] : 0, inner_sb = r ? sb[r - 1] : 0;
  for (int64_t o = 0; o < n; o += inner) {
    for (int64_t j = 0; j < inner; ++j) visit(o + j, ia + j * inner_sa, ib + j * inner_sb);
    // advance the multi-index over all axes but the last
    for (size_t d = r - 1; d-- > 0;) {
      ++idx[d];
      ia += sa[d];
      ib += sb[d];
      if (idx[d] < out[d]) break;
      ia -= sa[d] * out[d];
      ib -= sb[d] * out[d];
      idx[d] = 0;
    }
  }
}

}  // namespace

Tensor broadcast_binary(const Tensor& a, const Tensor& b, float (*f)(float, float)) {
  if (a.shape() == b.shape()) {
    Tensor out = Tensor::empty(a.shape());
    const float* pa = a.data();
    const float* pb = b.data();
    float* po = out.data();
    const int64_t n = a.numel();
#pragma omp parallel for simd if (n > 65536)
    for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], pb[i]);
    return out;
  }
  const Shape shape = broadcast_shape(a.shape(), b.shape());
  Tensor out = Tensor::empty(shape);
  const float* pa = a.data();
  const float* pb = b.data();
  float* po = out.data();
  for_each_broadcast(shape, broadcast_strides(a.shape(), shape), broadcast_strides(b.shape(), shape),
                     [&](int64_t o, int64_t ia, int64_t ib) { po[o] = f(pa[ia], pb[ib]); });
  return out;
}

Tensor sum_to_shape(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  MC_CHECK(broadcast_shape(shape, g.shape()) == g.shape(), ShapeError,
           "cannot sum a gradient of shape " << to_string(g.shape()) << " down to " << to_string(shape));
  Tensor out = Tensor::zeros(shape);
  const float* pg = g.data();
  float* po = out.data();
  const std::vector<int64_t> s_out = broadcast_strides(shape, g.shape());
  const std::vector<int64_t> s_same(g.shape().size(), 0);
  for_each_broadcast(g.shape(), s_out, s_same, [&](int64_t gi, int64_t oi, int64_t) { po[oi] += pg[gi]; });
  return out;
}

Tensor expand_to(const Tensor& t, const Shape& shape) {
  if (t.shape() == shape) return t;
  MC_CHECK(broadcast_shape(t.shape(), shape) == shape, ShapeError,
           "cannot expand " << to_string(t.shape()) << " to " << to_string(shape));
  Tensor out = Tensor::empty(shape);
  const float* pt = t.data();
  float* po = out.data();
  const std::vector<int64_t> s_in = broadcast_strides(t.shape(), shape);
  const std::vector<int64_t> s_same(shape.size(), 0);
  for_each_broadcast(shape, s_in, s_same, [&](int64_t o, int64_t i, int64_t) { po[o] = pt[i]; });
  return out;
}

}  // namespace mc
