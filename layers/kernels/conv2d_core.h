// The chunked im2col + sgemm engine behind conv2d (conv2d_op.cpp) and the fused
// conv2d_relu_maxpool (conv2d_pool_op.cpp). Not a public API: ops built on it decide what
// happens to each chunk's raw output (the forward epilogue) and where each chunk's output
// gradient comes from (the backward prologue); the engine does the matrix work in between.
// Epilogues and prologues of different chunks may run at the same time on different threads:
// each must write only its own chunk's images, and its own loops stay serial there
// (`#pragma omp parallel for if (!omp_in_parallel())`).
#pragma once

#include <cstdint>
#include <functional>

#include "matcomp/core/tensor.h"
#include "matcomp/layers/kernels/conv2d_op.h"

namespace mc {

struct ConvProblem {
  int64_t n, c, cout;   // images, input channels, output channels
  int64_t k, p;         // K = kh * kw * C rows of the columns; P = OH * OW pixels per image
  int64_t chunk;        // images per chunk
  WindowGeometry g;
};

// Images per chunk for an im2col with k rows and p columns per image, out of n: enough
// columns for an efficient sgemm, few enough that the column buffer stays in cache.
int64_t conv_chunk_images(int64_t n, int64_t k, int64_t p);

// Checks x (N, C, H, W), w (kh * kw * C, cout), bias (cout) if given; throws ShapeError.
ConvProblem conv_problem(const Tensor& x, const Tensor& w, const Tensor* bias, const Conv2dSpec& spec);

// For each chunk of images [n0, n0 + nb): out (cout, nb * P) = W^T im2col(x), bias not added,
// handed to epilogue(n0, nb, out, ld = nb * P). The epilogue may overwrite out.
using ConvEpilogue = std::function<void(int64_t n0, int64_t nb, float* out, int64_t ld)>;
void conv_forward(const float* x, const float* w, const ConvProblem& s, const ConvEpilogue& epilogue);

// For each chunk, prologue(n0, nb, g, ld) writes G (cout, nb * P), the gradient of the raw
// output (activation and pooling already applied); the engine accumulates db, dW and dx.
// Returns {dx (N, C, H, W), dW (K, cout), db (cout)}, each undefined unless needed.
using ConvPrologue = std::function<void(int64_t n0, int64_t nb, float* g, int64_t ld)>;
struct ConvGrads {
  Tensor dx, dw, db;
};
ConvGrads conv_backward(const float* x, const float* w, const ConvProblem& s, bool need_x, bool need_w, bool need_b,
                        const ConvPrologue& prologue);

}  // namespace mc
