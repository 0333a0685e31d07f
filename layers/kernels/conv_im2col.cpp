#include "matcomp/layers/kernels/conv_im2col.h"

#include <algorithm>
#include <vector>

#include "matcomp/layers/kernels/conv_simd.h"

namespace mc {

namespace {

// Stride 1 goes through a zero-padded copy of the plane, (OH + kh - 1, OW + kw - 1), so every
// row segment of every tap is one branch-free copy of OW floats. Thread-local: the op calls
// these from its own OpenMP loops.
float* padded_scratch(int64_t floats) {
  thread_local std::vector<float> scratch;
  if (static_cast<int64_t>(scratch.size()) < floats) scratch.resize(static_cast<size_t>(floats));
  return scratch.data();
}

void im2col_stride1(const float* plane, int64_t c, int64_t channels, const WindowGeometry& g, float* cols,
                    int64_t ld) {
  const int64_t OH = g.out_h, OW = g.out_w, Hp = OH + g.k_h - 1, Wp = OW + g.k_w - 1;
  float* pad = padded_scratch(Hp * Wp);
  // pad[r, s] = plane[r - pad_top, s - pad_left], 0 outside the plane
  for (int64_t r = 0; r < Hp; ++r) {
    const int64_t h = r - g.pad_top;
    float* dst = pad + r * Wp;
    if (h < 0 || h >= g.in_h) {
      for (int64_t s = 0; s < Wp; ++s) dst[s] = 0.0f;
      continue;
    }
    const float* src = plane + h * g.in_w;
    for (int64_t s = 0; s < Wp; ++s) {
      const int64_t w = s - g.pad_left;
      dst[s] = (w >= 0 && w < g.in_w) ? src[w] : 0.0f;
    }
  }
  for (int64_t i = 0; i < g.k_h; ++i)
    for (int64_t j = 0; j < g.k_w; ++j) {
      float* row = cols + ((i * g.k_w + j) * channels + c) * ld;  // (OH, OW) for this tap
      for (int64_t oh = 0; oh < OH; ++oh) {
        simd::copy_floats(row + oh * OW, pad + (oh + i) * Wp + j, OW);
      }
    }
}

void col2im_stride1(const float* cols, int64_t ld, int64_t c, int64_t channels, const WindowGeometry& g,
                    float* plane) {
  const int64_t OH = g.out_h, OW = g.out_w, Hp = OH + g.k_h - 1, Wp = OW + g.k_w - 1;
  float* acc = padded_scratch(Hp * Wp);
  std::fill(acc, acc + Hp * Wp, 0.0f);
  for (int64_t i = 0; i < g.k_h; ++i)
    for (int64_t j = 0; j < g.k_w; ++j) {
      const float* row = cols + ((i * g.k_w + j) * channels + c) * ld;
      for (int64_t oh = 0; oh < OH; ++oh) {
        simd::add_floats(acc + (oh + i) * Wp + j, row + oh * OW, OW);
      }
    }
  // Padding positions collected gradient that belongs to no pixel: keep the interior only.
  for (int64_t h = 0; h < g.in_h; ++h) {
    simd::copy_floats(plane + h * g.in_w, acc + (h + g.pad_top) * Wp + g.pad_left, g.in_w);
  }
}

}  // namespace

void im2col_channel(const float* plane, int64_t c, int64_t channels, const WindowGeometry& g, float* cols,
                    int64_t ld) {
  if (g.stride == 1) return im2col_stride1(plane, c, channels, g, cols, ld);
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
  if (g.stride == 1) return col2im_stride1(cols, ld, c, channels, g, plane);
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
