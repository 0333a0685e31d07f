// The conv engine. Per chunk of B images (P = OH * OW pixels each, K = kh*kw*C):
//
//   forward:  cols (K, B*P)     = im2col of the chunk            (OpenMP over images x channels)
//             out  (cout, B*P)  = W^T (cout, K) cols             (one sgemm, BLAS threads it)
//             -> the op's epilogue (bias, ReLU, pooling; scatter to NCHW)
//   backward: G    (cout, B*P)  <- the op's prologue
//             db[co]           += sum of G's row co
//             dW^T (cout, K)   += G cols^T                        (im2col recomputed, beta = 1;
//                                                                 this orientation runs ~1.4x
//                                                                 faster in OpenBLAS than cols G^T)
//   dx, stride 1 and cout <= C: dx is the convolution of G with the flipped kernel (a "full"
//             correlation, padding kh-1-pad_top / kw-1-pad_left), computed like the forward:
//             gcols (kh*kw*cout, B*H*W) = im2col of G;  dxb (C, B*H*W) = Wf^T gcols;  scatter.
//             Against dcols = W G followed by col2im this runs the sgemm in the forward's
//             efficient shape (~10 % faster on conv2 of the CIFAR model) and skips zeroing and
//             read-modify-writing a K x B*P matrix. With cout > C (conv1: 3 -> 64) the
//             flipped problem would be larger, so:
//   dx otherwise: dcols (K, B*P) = W G (into the cols buffer);  dx = col2im of dcols.
//
// Columns are recomputed in backward rather than saved: storing them would take K*P floats
// per image (conv2 of the CIFAR model: 0.9 MB an image, 118 MB a batch), and im2col of a
// chunk that stays in cache is cheaper than streaming that back from memory.
// The column, output and gradient buffers are a per-thread workspace kept between calls:
// fresh multi-megabyte buffers every call were page-faulted in again each time.
// BLAS is never called inside our own OpenMP regions (OpenBLAS-OpenMP can misbehave there):
// the parallel loops sit between the sgemms.
#include "matcomp/layers/conv2d_core.h"

#include <algorithm>

#include "matcomp/core/blas.h"
#include "matcomp/core/error.h"
#include "matcomp/layers/conv_im2col.h"

namespace mc {

namespace {

// Sized on the CIFAR model on 2 cores (interleaved runs): chunks of a few thousand columns;
// larger column buffers only fall further out of cache.
constexpr int64_t kTargetColumns = 2304;
constexpr int64_t kMaxColumnFloats = int64_t{1} << 21;  // 8 MB

// Per-thread scratch that only grows: slot 0 columns, slot 1 output / gradient block,
// slot 2 the dW^T accumulator, slot 3 the flipped kernel, slot 4 the dx block.
float* workspace(int slot, int64_t floats) {
  thread_local Tensor buffers[5];
  Tensor& t = buffers[slot];
  if (!t.defined() || t.numel() < floats) t = Tensor::empty({floats});
  return t.data();
}

// cols (K, nb*P): the chunk's images [n0, n0 + nb) side by side; x planes are (H, W).
void im2col_chunk(const float* x, int64_t channels, const WindowGeometry& g, int64_t n0, int64_t nb, float* cols) {
  const int64_t p = g.out_h * g.out_w, ld = nb * p, plane = g.in_h * g.in_w;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t c = 0; c < channels; ++c)
      im2col_channel(x + ((n0 + b) * channels + c) * plane, c, channels, g, cols + b * p, ld);
}

}  // namespace

int64_t conv_chunk_images(int64_t n, int64_t k, int64_t p) {
  int64_t b = std::max<int64_t>(1, (kTargetColumns + p - 1) / p);
  b = std::min(b, std::max<int64_t>(1, kMaxColumnFloats / std::max<int64_t>(1, k * p)));
  return std::clamp<int64_t>(b, 1, std::max<int64_t>(n, 1));
}

ConvProblem conv_problem(const Tensor& x, const Tensor& w, const Tensor* b, const Conv2dSpec& spec) {
  MC_CHECK(x.dim() == 4, ShapeError, "conv2d expects x (N, C, H, W), got " << to_string(x.shape()));
  ConvProblem s;
  s.n = x.size(0);
  s.c = x.size(1);
  s.g = WindowGeometry::make(x.size(2), x.size(3), spec.kernel_h, spec.kernel_w, spec.stride, spec.padding);
  s.k = spec.kernel_h * spec.kernel_w * s.c;
  MC_CHECK(w.dim() == 2 && w.size(0) == s.k, ShapeError,
           "conv2d: weight " << to_string(w.shape()) << " does not fit a " << spec.kernel_h << "x" << spec.kernel_w
                             << " kernel over " << s.c << " channels (need (" << s.k << ", cout), rows in (kh, kw, cin) order)");
  s.cout = w.size(1);
  MC_CHECK(b == nullptr || b->shape() == Shape{s.cout}, ShapeError,
           "conv2d: bias " << to_string(b->shape()) << " for " << s.cout << " output channels");
  s.p = s.g.out_h * s.g.out_w;
  s.chunk = conv_chunk_images(s.n, s.k, s.p);
  return s;
}

void conv_forward(const float* x, const float* w, const ConvProblem& s, const ConvEpilogue& epilogue) {
  float* cols = workspace(0, s.k * s.chunk * s.p);
  float* out = workspace(1, s.cout * s.chunk * s.p);
  for (int64_t n0 = 0; n0 < s.n; n0 += s.chunk) {
    const int64_t nb = std::min(s.chunk, s.n - n0), ld = nb * s.p;
    im2col_chunk(x, s.c, s.g, n0, nb, cols);
    // out (cout, nb*P) = W^T (cout, K) cols (K, nb*P)
    sgemm_raw(Trans::Yes, Trans::No, s.cout, ld, s.k, 1.0f, w, s.cout, cols, ld, 0.0f, out, ld);
    epilogue(n0, nb, out, ld);
  }
}

ConvGrads conv_backward(const float* x, const float* w, const ConvProblem& s, bool need_x, bool need_w, bool need_b,
                        const ConvPrologue& prologue) {
  const int64_t n = s.n, cout = s.cout, k = s.k, p = s.p, C = s.c, chunk = s.chunk;
  const int64_t plane = s.g.in_h * s.g.in_w;
  ConvGrads r;
  if (need_x) r.dx = Tensor::empty({n, C, s.g.in_h, s.g.in_w});
  if (need_w) r.dw = Tensor::empty({k, cout});
  if (need_b) r.db = Tensor::zeros({cout});

  const bool transposed = need_x && s.g.stride == 1 && cout <= C;
  const int64_t kt = s.g.k_h * s.g.k_w * cout;  // rows of G's columns
  WindowGeometry gt;                             // G (OH, OW) -> dx (H, W), stride 1
  float* wf = nullptr;                           // flipped kernel Wf (kh * kw * cout, C)
  if (transposed) {
    gt.in_h = s.g.out_h;
    gt.in_w = s.g.out_w;
    gt.k_h = s.g.k_h;
    gt.k_w = s.g.k_w;
    gt.pad_top = s.g.k_h - 1 - s.g.pad_top;
    gt.pad_left = s.g.k_w - 1 - s.g.pad_left;
    gt.out_h = s.g.in_h;
    gt.out_w = s.g.in_w;
    // Wf[(i', j', co), c] = W[((kh-1-i') * kw + (kw-1-j')) * C + c, co]
    wf = workspace(3, kt * C);
    const int64_t taps = s.g.k_h * s.g.k_w;
    for (int64_t t = 0; t < taps; ++t)
      for (int64_t co = 0; co < cout; ++co)
        for (int64_t c = 0; c < C; ++c) wf[(t * cout + co) * C + c] = w[((taps - 1 - t) * C + c) * cout + co];
  }
  float* pg = workspace(1, cout * chunk * p);
  const int64_t col_floats = std::max(k * chunk * p, transposed ? kt * chunk * plane : 0);
  float* cols = (need_x || need_w) ? workspace(0, col_floats) : nullptr;
  float* dxb = transposed ? workspace(4, C * chunk * plane) : nullptr;
  float* dwt = need_w ? workspace(2, cout * k) : nullptr;  // dW^T (cout, K)
  if (need_w && n == 0) std::fill(dwt, dwt + cout * k, 0.0f);

  for (int64_t n0 = 0; n0 < n; n0 += chunk) {
    const int64_t nb = std::min(chunk, n - n0), ld = nb * p;
    prologue(n0, nb, pg, ld);
    if (need_b) {
      float* db = r.db.data();
#pragma omp parallel for schedule(static)
      for (int64_t co = 0; co < cout; ++co) {
        float sum = 0.0f;
        const float* row = pg + co * ld;
#pragma omp simd reduction(+ : sum)
        for (int64_t i = 0; i < ld; ++i) sum += row[i];
        db[co] += sum;
      }
    }
    if (need_w) {
      im2col_chunk(x, C, s.g, n0, nb, cols);
      // dW^T (cout, K) += G (cout, nb*P) cols^T (nb*P, K)
      sgemm_raw(Trans::No, Trans::Yes, cout, k, ld, 1.0f, pg, ld, cols, ld, n0 == 0 ? 0.0f : 1.0f, dwt, k);
    }
    if (transposed) {
      const int64_t ld2 = nb * plane;
      // gcols (kt, nb*H*W): G's planes (cout of them per image) sit at pg + co*ld + b*P.
#pragma omp parallel for collapse(2) schedule(static)
      for (int64_t b = 0; b < nb; ++b)
        for (int64_t co = 0; co < cout; ++co) im2col_channel(pg + co * ld + b * p, co, cout, gt, cols + b * plane, ld2);
      // dxb (C, nb*H*W) = Wf^T (C, kt) gcols (kt, nb*H*W)
      sgemm_raw(Trans::Yes, Trans::No, C, ld2, kt, 1.0f, wf, C, cols, ld2, 0.0f, dxb, ld2);
      float* pdx = r.dx.data();
#pragma omp parallel for collapse(2) schedule(static)
      for (int64_t b = 0; b < nb; ++b)
        for (int64_t c = 0; c < C; ++c)
          std::copy(dxb + c * ld2 + b * plane, dxb + c * ld2 + (b + 1) * plane, pdx + ((n0 + b) * C + c) * plane);
    } else if (need_x) {
      // dcols (K, nb*P) = W (K, cout) G (cout, nb*P), into the (now free) cols buffer
      sgemm_raw(Trans::No, Trans::No, k, ld, cout, 1.0f, w, cout, pg, ld, 0.0f, cols, ld);
      float* pdx = r.dx.data();
#pragma omp parallel for collapse(2) schedule(static)
      for (int64_t b = 0; b < nb; ++b)
        for (int64_t c = 0; c < C; ++c) col2im_channel(cols + b * p, ld, c, C, s.g, pdx + ((n0 + b) * C + c) * plane);
    }
  }
  if (need_w) {  // dW (K, cout) = (dW^T)^T
    float* pdw = r.dw.data();
#pragma omp parallel for schedule(static) if (k * cout > 65536)
    for (int64_t row = 0; row < k; ++row)
      for (int64_t co = 0; co < cout; ++co) pdw[row * cout + co] = dwt[co * k + row];
  }
  return r;
}

}  // namespace mc
