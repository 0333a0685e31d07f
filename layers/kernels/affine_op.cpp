#include "matcomp/layers/kernels/affine_op.h"

#include <algorithm>
#include <cstring>

#include "matcomp/autograd/node.h"
#include "matcomp/core/blas.h"
#include "matcomp/core/error.h"
#include "matcomp/layers/kernels/layer_gemm.h"

namespace mc {

namespace {

// Products of two of the rules below on the builtin kernel (layers/kernels/layer_gemm.h), whose B
// operand must be row-major and whose A may have any strides.

// y (n, out) = x (n, in) W (in, out), overwriting y
void builtin_forward(const float* x, const float* w, float* y, int64_t n, int64_t in, int64_t out) {
  builtin_gemm(n, out, in, x, in, 1, w, out, y, out, 1);
}

// dx (n, in) = dy W^T. W^T is not row-major, so the product runs transposed,
// dx^T (in, n) = W (in, out) dy^T (out, n), with dy^T copied out first and dx^T stored
// transposed into dx. The copy pays on small batches (the CNN's dense layers) and not on large
// ones (PTB's 700 x 10000 softmax gradient: 28 MB to transpose), which keep OpenBLAS.
constexpr int64_t kMaxTransposedGrad = int64_t{1} << 20;  // floats of dy
void builtin_input_grad(const Tensor& dy, const float* w, float* dx, int64_t n, int64_t in, int64_t out) {
  const Tensor dyt = transpose_2d(dy);  // (out, n)
  builtin_gemm(in, n, out, w, out, 1, dyt.data(), n, dx, 1, in);
}

}  // namespace

void affine_forward(const Tensor& x, const Tensor& w, const Tensor* b, Tensor& y) {
  MC_CHECK(x.dim() == 2 && w.dim() == 2 && x.size(1) == w.size(0) && y.dim() == 2 && y.size(0) == x.size(0) &&
               y.size(1) == w.size(1),
           ShapeError,
           "affine product: x " << to_string(x.shape()) << ", W " << to_string(w.shape()) << " into y "
                                << to_string(y.shape()) << " do not fit");
  const int64_t n = x.size(0), in = x.size(1), out = w.size(1);
  if (layer_gemm() == LayerGemm::Builtin) {
    builtin_forward(x.data(), w.data(), y.data(), n, in, out);
    if (b) add_rows(*b, y);
  } else {
    if (b) fill_rows(*b, y);
    // y (n, out) (+)= x (n, in) W (in, out)
    sgemm_raw(Trans::No, Trans::No, n, out, in, 1.0f, x.data(), in, w.data(), out, b ? 1.0f : 0.0f, y.data(), out);
  }
}

// Forward and backward choose the same product (layer_gemm(), set once per process in
// practice); either way every entry is a float sum over `in` (forward) or `n` / `out` (backward).
Var affine(const Var& x, const Var& w, const Var& b) {
  MC_CHECK(x.value().dim() == 2 && w.value().dim() == 2 && x.shape()[1] == w.shape()[0] && b.shape() == Shape{w.shape()[1]},
           ShapeError,
           "affine: x " << to_string(x.shape()) << ", W " << to_string(w.shape()) << ", b " << to_string(b.shape())
                        << " do not fit (need (n, in), (in, out), (out))");
  const int64_t n = x.shape()[0], in = x.shape()[1], out = w.shape()[1];
  Tensor y = Tensor::empty({n, out});
  affine_forward(x.value(), w.value(), &b.value(), y);
  return record("affine", std::move(y), {x, w, b},
                [sx = SavedTensor(x.value(), "affine"), sw = SavedTensor(w.value(), "affine"), n, in, out](
                    const Grads& g, const Needs& need) {
                  const float* gy = g[0].data();  // (n, out)
                  const bool builtin = layer_gemm() == LayerGemm::Builtin;
                  Grads grads(3);
                  if (need[0]) {  // dx (n, in) = dy (n, out) W^T
                    grads[0] = Tensor::empty({n, in});
                    if (builtin && n * out <= kMaxTransposedGrad)
                      builtin_input_grad(g[0], sw.get().data(), grads[0].data(), n, in, out);
                    else
                      sgemm_raw(Trans::No, Trans::Yes, n, in, out, 1.0f, gy, out, sw.get().data(), out, 0.0f,
                                grads[0].data(), in);
                  }
                  if (need[1]) {  // dW (in, out) = x^T dy
                    grads[1] = Tensor::empty({in, out});
                    if (builtin)
                      builtin_gemm_at_b(n, in, out, sx.get().data(), gy, grads[1].data());
                    else
                      sgemm_raw(Trans::Yes, Trans::No, in, out, n, 1.0f, sx.get().data(), in, gy, out, 0.0f,
                                grads[1].data(), out);
                  }
                  if (need[2]) grads[2] = column_sums(g[0]);  // db (out)
                  return grads;
                });
}

namespace {
void check_rows(const Tensor& b, const Tensor& y) {
  MC_CHECK(y.dim() == 2 && b.numel() == y.size(1), ShapeError,
           "bias " << to_string(b.shape()) << " does not fit the rows of " << to_string(y.shape()));
}
}  // namespace

void fill_rows(const Tensor& b, Tensor& y) {
  check_rows(b, y);
  const int64_t n = y.size(0), out = y.size(1);
  const float* pb = b.data();
#pragma omp parallel for if (n * out > 65536)
  for (int64_t r = 0; r < n; ++r) std::memcpy(y.data() + r * out, pb, sizeof(float) * static_cast<size_t>(out));
}

void add_rows(const Tensor& b, Tensor& y) {
  check_rows(b, y);
  const int64_t n = y.size(0), out = y.size(1);
  const float* pb = b.data();
  float* py = y.data();
#pragma omp parallel for if (n * out > 65536)
  for (int64_t r = 0; r < n; ++r)
#pragma omp simd
    for (int64_t j = 0; j < out; ++j) py[r * out + j] += pb[j];
}

Tensor column_sums(const Tensor& dy) {
  MC_CHECK(dy.dim() == 2, ShapeError, "column_sums needs a matrix, got " << to_string(dy.shape()));
  const int64_t n = dy.size(0), out = dy.size(1);
  Tensor sums = Tensor::zeros({out});
  float* db = sums.data();
  const float* gy = dy.data();
  // Threads split the columns; each walks the rows in order over its block (unit stride).
  constexpr int64_t kBlock = 512;
#pragma omp parallel for if (n * out > 65536)
  for (int64_t j0 = 0; j0 < out; j0 += kBlock) {
    const int64_t j1 = std::min(out, j0 + kBlock);
    for (int64_t r = 0; r < n; ++r) {
      const float* row = gy + r * out;
#pragma omp simd
      for (int64_t j = j0; j < j1; ++j) db[j] += row[j];
    }
  }
  return sums;
}

}  // namespace mc
