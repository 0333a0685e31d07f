#include "layers/conv_im2col.h"

#include <algorithm>

namespace mc {

void im2col_channel(const float* plane, int64_t c, int64_t channels, const WindowGeometry& g, float* cols,
                    int64_t ld) {
  const int64_t H = g.in_h, W = g.in_w, OH = g.out_h, OW = g.out_w, s = g.stride;
  for (int64_t i = 0; i < g.k_h; ++i) {
    for (int64_t j = 0; j < g.k_w; ++j) {
      float* row = cols + ((i * g.k_w + j) * channels + c) * ld;  // (OH, OW) for this tap
      int64_t first, last;
      g.valid_cols(j, first, last);
      for (int64_t oh = 0; oh < OH; ++oh) {
        float* dst = row + oh * OW;
        const int64_t h = oh * s - g.pad_top + i;
        if (h < 0 || h >= H) {
          std::fill(dst, dst + OW, 0.0f);
          continue;
        }
        // plane[base + ow * s] is input column ow * s - pad_left + j of row h.
        const int64_t base = h * W - g.pad_left + j;
        std::fill(dst, dst + first, 0.0f);
        if (s == 1) {  // contiguous: the compiler turns this into vector moves
#pragma omp simd
          for (int64_t ow = first; ow < last; ++ow) dst[ow] = plane[base + ow];
        } else {
          for (int64_t ow = first; ow < last; ++ow) dst[ow] = plane[base + ow * s];
        }
        std::fill(dst + last, dst + OW, 0.0f);
      }
    }
  }
}

void col2im_channel(const float* cols, int64_t ld, int64_t c, int64_t channels, const WindowGeometry& g,
                    float* plane) {
  const int64_t H = g.in_h, W = g.in_w, OH = g.out_h, OW = g.out_w, s = g.stride;
  std::fill(plane, plane + H * W, 0.0f);
  for (int64_t i = 0; i < g.k_h; ++i) {
    for (int64_t j = 0; j < g.k_w; ++j) {
      const float* row = cols + ((i * g.k_w + j) * channels + c) * ld;
      int64_t first, last;
      g.valid_cols(j, first, last);
      for (int64_t oh = 0; oh < OH; ++oh) {
        const int64_t h = oh * s - g.pad_top + i;
        if (h < 0 || h >= H) continue;  // read from padding: nothing to give back
        const float* src = row + oh * OW;
        const int64_t base = h * W - g.pad_left + j;
        if (s == 1) {
#pragma omp simd
          for (int64_t ow = first; ow < last; ++ow) plane[base + ow] += src[ow];
        } else {
          for (int64_t ow = first; ow < last; ++ow) plane[base + ow * s] += src[ow];
        }
      }
    }
  }
}

}  // namespace mc
