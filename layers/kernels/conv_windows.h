// A convolution's windows read where they lie: the input zero-padded so that every window is
// inside it, and two offset tables into the padded block, so that a product can read
//   cols(d, pixel) = padded[pixels[pixel] + taps[d]]
// without the columns being formed. im2col writes K x P floats an image (conv2 of the CIFAR
// model: 1600 x 144); the padded image is C x Hp x Wp (64 x 16 x 16), 14x fewer.
#pragma once

#include <cstdint>
#include <vector>

#include "matcomp/layers/kernels/conv_geometry.h"

namespace mc {

struct ConvWindows {
  int64_t channels = 0, hp = 0, wp = 0;  // one padded image: (channels, hp, wp)
  std::vector<int64_t> taps;             // (k_h * k_w * channels), im2col's row order (i, j, c)
  std::vector<int64_t> pixels;           // (images * out_h * out_w): each window's corner
  int64_t image_floats() const { return channels * hp * wp; }
};

// The tables of `images` padded images side by side: taps (i, j, c) -> c*hp*wp + i*wp + j,
// pixels (b, oh, ow) -> b*image_floats + oh*stride*wp + ow*stride.
ConvWindows conv_windows(const WindowGeometry& g, int64_t channels, int64_t images);

// dst (images, channels, hp, wp): plane (b, c) is src + b * image_stride + c * channel_stride,
// (in_h, in_w) row-major, placed at (pad_top, pad_left) with zeros around it (and cut where a
// VALID window never reaches). Threaded over the planes outside a parallel region.
void pad_planes(const float* src, int64_t image_stride, int64_t channel_stride, int64_t images,
                const WindowGeometry& g, const ConvWindows& windows, float* dst);

}  // namespace mc
