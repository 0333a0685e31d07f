#include "matcomp/layers/kernels/conv_windows.h"

#include <omp.h>

#include <algorithm>

namespace mc {

ConvWindows conv_windows(const WindowGeometry& g, int64_t channels, int64_t images) {
  ConvWindows w;
  w.channels = channels;
  w.hp = (g.out_h - 1) * g.stride + g.k_h;  // the last window's bottom edge
  w.wp = (g.out_w - 1) * g.stride + g.k_w;
  const int64_t plane = w.hp * w.wp;
  w.taps.reserve(static_cast<size_t>(g.k_h * g.k_w * channels));
  for (int64_t i = 0; i < g.k_h; ++i)
    for (int64_t j = 0; j < g.k_w; ++j)
      for (int64_t c = 0; c < channels; ++c) w.taps.push_back(c * plane + i * w.wp + j);
  w.pixels.reserve(static_cast<size_t>(images * g.out_h * g.out_w));
  for (int64_t b = 0; b < images; ++b)
    for (int64_t oh = 0; oh < g.out_h; ++oh)
      for (int64_t ow = 0; ow < g.out_w; ++ow)
        w.pixels.push_back(b * w.image_floats() + oh * g.stride * w.wp + ow * g.stride);
  return w;
}

void pad_planes(const float* src, int64_t image_stride, int64_t channel_stride, int64_t images,
                const WindowGeometry& g, const ConvWindows& windows, float* dst) {
  const int64_t hp = windows.hp, wp = windows.wp, C = windows.channels;
  // Input rows and columns that some window reaches: [0, rows) x [0, cols) of the plane.
  const int64_t rows = std::clamp<int64_t>(hp - g.pad_top, 0, g.in_h);
  const int64_t cols = std::clamp<int64_t>(wp - g.pad_left, 0, g.in_w);
#pragma omp parallel for if (!omp_in_parallel()) collapse(2) schedule(static)
  for (int64_t b = 0; b < images; ++b)
    for (int64_t c = 0; c < C; ++c) {
      const float* in = src + b * image_stride + c * channel_stride;
      float* out = dst + (b * C + c) * hp * wp;
      std::fill(out, out + g.pad_top * wp, 0.0f);
      for (int64_t h = 0; h < rows; ++h) {
        float* row = out + (g.pad_top + h) * wp;
        std::fill(row, row + g.pad_left, 0.0f);
        std::copy(in + h * g.in_w, in + h * g.in_w + cols, row + g.pad_left);
        std::fill(row + g.pad_left + cols, row + wp, 0.0f);
      }
      std::fill(out + (g.pad_top + rows) * wp, out + hp * wp, 0.0f);
    }
}

}  // namespace mc
