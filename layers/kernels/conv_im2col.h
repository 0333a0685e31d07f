// im2col / col2im for one channel of one NCHW image: the data movement that turns a
// convolution into a matrix product.
//
// Column layout (shared with conv2d_op.cpp): row k = (i * k_w + j) * channels + c holds, for
// every output pixel (oh, ow), the input value under kernel tap (i, j) of channel c, i.e.
// x[c, oh * stride - pad_top + i, ow * stride - pad_left + j] (0 outside the image). The row
// order (kh, kw, cin) is TensorFlow's HWIO kernel flattened, so a kernel (kh, kw, cin, cout)
// reshaped to (kh * kw * cin, cout) is exactly our weight matrix. Each image owns
// out_h * out_w consecutive columns of a row; rows are `ld` floats apart, so several images
// can share one column buffer side by side (one big sgemm per chunk of images).
#pragma once

#include <cstdint>

#include "matcomp/layers/kernels/conv_geometry.h"

namespace mc {

// plane (H, W) = channel c of one image -> its out_h * out_w entries in each of the
// k_h * k_w rows of channel c, starting at cols (this image's first column).
void im2col_channel(const float* plane, int64_t c, int64_t channels, const WindowGeometry& g, float* cols,
                    int64_t ld);

// The adjoint: plane (H, W) = sum over taps of the column entries read from each pixel.
// Overwrites plane.
void col2im_channel(const float* cols, int64_t ld, int64_t c, int64_t channels, const WindowGeometry& g,
                    float* plane);

}  // namespace mc
