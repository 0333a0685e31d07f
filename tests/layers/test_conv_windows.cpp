// The windows read in place (conv_windows.h) against im2col's columns: for every tap d and
// output pixel, padded[pixels[pixel] + taps[d]] is the column entry im2col writes, over
// SAME and VALID padding, strides 1 and 2, uneven pads and a VALID input the windows do not
// cover to its end; and the padded block has zeros wherever no input lies.
#include "matcomp/layers/kernels/conv_windows.h"

#include <gtest/gtest.h>

#include <vector>

#include "matcomp/layers/kernels/conv_im2col.h"
#include "test_layers_util.h"

using namespace mc;
using mc::testing::randn;

namespace {

struct Case {
  int64_t channels, h, w, kh, kw, stride;
  Padding padding;
};

void expect_windows_equal_im2col(const Case& c, uint64_t seed) {
  const int64_t images = 2;
  const WindowGeometry g = WindowGeometry::make(c.h, c.w, c.kh, c.kw, c.stride, c.padding);
  const int64_t plane = c.h * c.w, p = g.out_h * g.out_w, k = c.kh * c.kw * c.channels, ld = images * p;
  // x (images, channels, h, w); every value non-zero, so a zero read is a padding read
  Tensor x = randn({images * c.channels * plane}, seed);
  for (int64_t i = 0; i < x.numel(); ++i)
    if (x.data()[i] == 0.0f) x.data()[i] = 1.0f;
  std::vector<float> cols(static_cast<size_t>(k * ld), -1.0f);
  for (int64_t b = 0; b < images; ++b)
    for (int64_t ch = 0; ch < c.channels; ++ch)
      im2col_channel(x.data() + (b * c.channels + ch) * plane, ch, c.channels, g, cols.data() + b * p, ld);

  const ConvWindows win = conv_windows(g, c.channels, images);
  ASSERT_EQ(static_cast<int64_t>(win.taps.size()), k);
  ASSERT_EQ(static_cast<int64_t>(win.pixels.size()), ld);
  std::vector<float> padded(static_cast<size_t>(images * win.image_floats()), 99.0f);  // stale data
  pad_planes(x.data(), c.channels * plane, plane, images, g, win, padded.data());
  for (int64_t d = 0; d < k; ++d)
    for (int64_t i = 0; i < ld; ++i)
      ASSERT_EQ(padded[win.pixels[i] + win.taps[d]], cols[d * ld + i])
          << "tap " << d << " pixel " << i << " (" << c.h << "x" << c.w << ", k " << c.kh << "x" << c.kw << ", stride "
          << c.stride << ")";
  // No stale value survives the padding: every entry is an input value or zero.
  for (float v : padded) ASSERT_NE(v, 99.0f);
}

}  // namespace

TEST(ConvWindows, EqualIm2colOnEveryGeometry) {
  uint64_t seed = 1;
  for (const Case& c : {Case{3, 7, 6, 3, 2, 1, Padding::Same}, Case{2, 7, 6, 3, 2, 1, Padding::Valid},
                        Case{4, 9, 10, 4, 4, 2, Padding::Valid},  // the last input row and column unreached
                        Case{3, 8, 9, 3, 3, 2, Padding::Same}, Case{2, 6, 5, 4, 3, 1, Padding::Same},
                        Case{64, 12, 12, 5, 5, 1, Padding::Same}, Case{3, 24, 24, 5, 5, 1, Padding::Same}})
    expect_windows_equal_im2col(c, seed++);
}
