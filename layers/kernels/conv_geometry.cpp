#include "matcomp/layers/kernels/conv_geometry.h"

#include <algorithm>

#include "matcomp/core/error.h"

namespace mc {

WindowGeometry WindowGeometry::make(int64_t in_h, int64_t in_w, int64_t k_h, int64_t k_w, int64_t stride,
                                    Padding padding) {
  MC_CHECK(k_h >= 1 && k_w >= 1 && stride >= 1, ValueError,
           "window " << k_h << "x" << k_w << " stride " << stride << ": sizes and stride must be >= 1");
  MC_CHECK(in_h >= 1 && in_w >= 1, ShapeError, "window over an empty " << in_h << "x" << in_w << " image");
  WindowGeometry g;
  g.in_h = in_h;
  g.in_w = in_w;
  g.k_h = k_h;
  g.k_w = k_w;
  g.stride = stride;
  if (padding == Padding::Valid) {
    MC_CHECK(in_h >= k_h && in_w >= k_w, ShapeError,
             "VALID window " << k_h << "x" << k_w << " does not fit a " << in_h << "x" << in_w << " image");
    g.out_h = (in_h - k_h) / stride + 1;
    g.out_w = (in_w - k_w) / stride + 1;
  } else {
    g.out_h = (in_h + stride - 1) / stride;
    g.out_w = (in_w + stride - 1) / stride;
    g.pad_top = std::max<int64_t>((g.out_h - 1) * stride + k_h - in_h, 0) / 2;
    g.pad_left = std::max<int64_t>((g.out_w - 1) * stride + k_w - in_w, 0) / 2;
  }
  return g;
}

void WindowGeometry::valid_cols(int64_t j, int64_t& first, int64_t& last) const {
  // ow * stride - pad_left + j >= 0  <=>  ow >= ceil((pad_left - j) / stride)
  const int64_t lo = pad_left - j;
  first = lo <= 0 ? 0 : (lo + stride - 1) / stride;
  // ow * stride - pad_left + j <= in_w - 1  <=>  ow <= floor((in_w - 1 + pad_left - j) / stride)
  const int64_t hi = in_w - 1 + pad_left - j;
  last = hi < 0 ? 0 : hi / stride + 1;
  first = std::min(first, out_w);
  last = std::clamp(last, first, out_w);
}

}  // namespace mc
