// reshape (a view), 2-D transpose, slice and concat along any axis.
#include <cstring>

#include "matcomp/autograd/node.h"
#include "matcomp/autograd/ops.h"
#include "matcomp/core/error.h"

namespace mc {

namespace {

int64_t normalize_axis(int64_t axis, const Shape& shape) {
  const int64_t r = static_cast<int64_t>(shape.size());
  const int64_t a = axis < 0 ? axis + r : axis;
  MC_CHECK(a >= 0 && a < r, ShapeError, "axis " << axis << " out of range for shape " << to_string(shape));
  return a;
}

// Elements before `axis` (outer) and after it (inner), for block copies along the axis.
void outer_inner(const Shape& shape, int64_t axis, int64_t& outer, int64_t& inner) {
  outer = 1;
  inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= shape[static_cast<size_t>(i)];
  for (size_t i = static_cast<size_t>(axis) + 1; i < shape.size(); ++i) inner *= shape[i];
}

// Copies `extent` slabs of `inner` floats from each of `outer` blocks, between two layouts
// whose axis extents are src_extent and dst_extent, starting at src_offset / dst_offset.
void copy_slabs(const float* src, int64_t src_extent, int64_t src_offset, float* dst, int64_t dst_extent,
                int64_t dst_offset, int64_t outer, int64_t extent, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o)
    std::memcpy(dst + (o * dst_extent + dst_offset) * inner, src + (o * src_extent + src_offset) * inner,
                sizeof(float) * static_cast<size_t>(extent * inner));
}

}  // namespace

Var reshape(const Var& x, Shape shape) {
  Tensor out = x.value().view(std::move(shape));
  return record("reshape", std::move(out), {x},
                [in_shape = x.shape()](const Grads& g, const Needs&) { return Grads{g[0].view(in_shape)}; });
}


Var transpose(const Var& x) {
  MC_CHECK(x.value().dim() == 2, ShapeError, "transpose needs a 2-D tensor, got " << to_string(x.shape()));
  return record("transpose", transpose_2d(x.value()), {x},
                [](const Grads& g, const Needs&) { return Grads{transpose_2d(g[0])}; });
}

Var slice(const Var& x, int64_t axis, int64_t begin, int64_t end) {
  const int64_t a = normalize_axis(axis, x.shape());
  const int64_t extent = x.shape()[static_cast<size_t>(a)];
  MC_CHECK(0 <= begin && begin <= end && end <= extent, ShapeError,
           "slice [" << begin << ", " << end << ") out of range on axis " << a << " of " << to_string(x.shape()));
  Shape out_shape = x.shape();
  out_shape[static_cast<size_t>(a)] = end - begin;
  int64_t outer, inner;
  outer_inner(x.shape(), a, outer, inner);
  Tensor out = Tensor::empty(out_shape);
  copy_slabs(x.value().data(), extent, begin, out.data(), end - begin, 0, outer, end - begin, inner);
  return record("slice", std::move(out), {x},
                [in_shape = x.shape(), extent, begin, end, outer, inner](const Grads& g, const Needs&) {
                  Tensor gx = Tensor::zeros(in_shape);
                  copy_slabs(g[0].data(), end - begin, 0, gx.data(), extent, begin, outer, end - begin, inner);
                  return Grads{gx};
                });
}

Var concat(const std::vector<Var>& xs, int64_t axis) {
  MC_CHECK(!xs.empty(), ShapeError, "concat of an empty list");
  const int64_t a = normalize_axis(axis, xs[0].shape());
  Shape out_shape = xs[0].shape();
  std::vector<int64_t> extents;
  int64_t total = 0;
  for (const Var& x : xs) {
    Shape s = x.shape(), ref = xs[0].shape();
    MC_CHECK(s.size() == ref.size(), ShapeError,
             "concat: ranks differ, " << to_string(ref) << " and " << to_string(s));
    s[static_cast<size_t>(a)] = ref[static_cast<size_t>(a)] = 0;
    MC_CHECK(s == ref, ShapeError,
             "concat along axis " << a << ": " << to_string(xs[0].shape()) << " and " << to_string(x.shape())
                                  << " differ on another axis");
    extents.push_back(x.shape()[static_cast<size_t>(a)]);
    total += extents.back();
  }
  out_shape[static_cast<size_t>(a)] = total;
  int64_t outer, inner;
  outer_inner(out_shape, a, outer, inner);
  Tensor out = Tensor::empty(out_shape);
  int64_t offset = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    copy_slabs(xs[i].value().data(), extents[i], 0, out.data(), total, offset, outer, extents[i], inner);
    offset += extents[i];
  }
  std::vector<Shape> shapes;
  for (const Var& x : xs) shapes.push_back(x.shape());
  return record("concat", std::move(out), xs,
                [shapes, extents, total, outer, inner](const Grads& g, const Needs& need) {
                  Grads grads(shapes.size());
                  int64_t off = 0;
                  for (size_t i = 0; i < shapes.size(); ++i) {
                    if (need[i]) {
                      grads[i] = Tensor::empty(shapes[i]);
                      copy_slabs(g[0].data(), total, off, grads[i].data(), extents[i], 0, outer, extents[i], inner);
                    }
                    off += extents[i];
                  }
                  return grads;
                });
}

}  // namespace mc
