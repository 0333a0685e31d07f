// max_pool2d forward and backward, OpenMP-parallel over the N * C planes (each plane is
// independent in both directions, so the backward scatter needs no atomics).
#include "layers/pool2d.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "autograd/node.h"
#include "core/error.h"

namespace mc {

namespace {

// 3x3 stride 2 windows that lie inside the plane (all but the last row / column under the
// model's SAME padding): fixed trip counts the compiler unrolls, no clipping. Same scan order
// and first-maximum rule as the general loop.
inline void pool3x3s2_window(const float* xp, int64_t W, int64_t h0, int64_t w0, float& m, int32_t& best) {
  int64_t b = h0 * W + w0;
  float v = xp[b];
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 3; ++j) {
      const int64_t idx = (h0 + i) * W + w0 + j;
      if (xp[idx] > v) {
        v = xp[idx];
        b = idx;
      }
    }
  m = v;
  best = static_cast<int32_t>(b);
}

}  // namespace

void max_pool_plane(const float* xp, const WindowGeometry& g, float* yp, int32_t* ap) {
  const int64_t H = g.in_h, W = g.in_w, OW = g.out_w, s = g.stride;
  const bool fast = g.k_h == 3 && g.k_w == 3 && s == 2 && g.pad_top == 0 && g.pad_left == 0;
  // Every SAME or VALID window holds at least one real pixel, so clipping it to the image
  // is exactly -inf padding.
  for (int64_t oh = 0; oh < g.out_h; ++oh) {
    const int64_t h0 = std::max<int64_t>(oh * s - g.pad_top, 0);
    const int64_t h1 = std::min<int64_t>(oh * s - g.pad_top + g.k_h, H);
    for (int64_t ow = 0; ow < OW; ++ow) {
      if (fast && oh * 2 + 3 <= H && ow * 2 + 3 <= W) {
        pool3x3s2_window(xp, W, oh * 2, ow * 2, yp[oh * OW + ow], ap[oh * OW + ow]);
        continue;
      }
      const int64_t w0 = std::max<int64_t>(ow * s - g.pad_left, 0);
      const int64_t w1 = std::min<int64_t>(ow * s - g.pad_left + g.k_w, W);
      int64_t best = h0 * W + w0;
      float m = xp[best];
      for (int64_t h = h0; h < h1; ++h)
        for (int64_t w = w0; w < w1; ++w)
          if (xp[h * W + w] > m) {
            m = xp[h * W + w];
            best = h * W + w;
          }
      yp[oh * OW + ow] = m;
      ap[oh * OW + ow] = static_cast<int32_t>(best);
    }
  }
}

Var max_pool2d(const Var& x, const Pool2dSpec& spec) {
  const Tensor& xv = x.value();
  MC_CHECK(xv.dim() == 4, ShapeError, "max_pool2d expects x (N, C, H, W), got " << to_string(xv.shape()));
  const WindowGeometry g =
      WindowGeometry::make(xv.size(2), xv.size(3), spec.kernel_h, spec.kernel_w, spec.stride, spec.padding);
  const int64_t planes = xv.size(0) * xv.size(1);
  MC_CHECK(g.in_h * g.in_w <= INT32_MAX, ShapeError, "max_pool2d: plane " << to_string(xv.shape()) << " too large");
  const int64_t H = g.in_h, W = g.in_w, OH = g.out_h, OW = g.out_w;
  Tensor y = Tensor::empty({xv.size(0), xv.size(1), OH, OW});
  // argmax[plane * OH * OW + o] = winning position h * W + w within the input plane
  auto argmax = std::make_shared<std::vector<int32_t>>(static_cast<size_t>(planes * OH * OW));
  const float* px = xv.data();
  float* py = y.data();
  int32_t* pa = argmax->data();
#pragma omp parallel for schedule(static) if (planes * OH * OW > 4096)
  for (int64_t q = 0; q < planes; ++q) max_pool_plane(px + q * H * W, g, py + q * OH * OW, pa + q * OH * OW);
  return record("max_pool2d", y, {x}, [argmax, in_shape = xv.shape(), planes, H, W, OH, OW](const Grads& grads, const Needs&) {
    Tensor dx = Tensor::empty(in_shape);  // (N, C, H, W)
    const float* gy = grads[0].data();    // (N, C, OH, OW)
    const int32_t* pa = argmax->data();
    float* pd = dx.data();
#pragma omp parallel for schedule(static) if (planes * H * W > 4096)
    for (int64_t q = 0; q < planes; ++q) {
      float* dp = pd + q * H * W;
      std::fill(dp, dp + H * W, 0.0f);
      const float* gp = gy + q * OH * OW;
      const int32_t* ap = pa + q * OH * OW;
      for (int64_t o = 0; o < OH * OW; ++o) dp[ap[o]] += gp[o];
    }
    return Grads{dx};
  });
}

}  // namespace mc
