// Window geometry shared by convolution and pooling: how a k_h x k_w window moving with a
// stride maps an (H, W) image to an (out_h, out_w) one, TensorFlow's padding semantics.
//
//   VALID: out = ceil((in - k + 1) / stride), no padding.
//   SAME:  out = ceil(in / stride); pad total = max((out - 1) * stride + k - in, 0),
//          pad_before = total / 2, the odd one goes after (bottom / right).
//
// E.g. 3x3 stride 2 SAME on 24: out 12, pad 0 before and 1 after; 5x5 stride 1 SAME: pad 2, 2.
#pragma once

#include <cstdint>

namespace mc {

enum class Padding { Same, Valid };

struct WindowGeometry {
  int64_t in_h = 0, in_w = 0;
  int64_t k_h = 1, k_w = 1;
  int64_t stride = 1;
  int64_t pad_top = 0, pad_left = 0;
  int64_t out_h = 0, out_w = 0;

  // Throws ShapeError / ValueError for a window that does not fit or a bad stride.
  static WindowGeometry make(int64_t in_h, int64_t in_w, int64_t k_h, int64_t k_w, int64_t stride, Padding padding);

  // Output columns ow whose input column ow * stride - pad_left + j lies inside [0, in_w):
  // the half-open range [first, last). Lets kernels copy the valid middle without branches.
  void valid_cols(int64_t j, int64_t& first, int64_t& last) const;
};

}  // namespace mc
