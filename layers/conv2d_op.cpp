// conv2d forward and backward. Per chunk of B images (P = OH * OW pixels each, K = kh*kw*C):
//
//   forward:  cols (K, B*P)     = im2col of the chunk            (OpenMP over images x channels)
//             out  (cout, B*P)  = W^T (cout, K) cols             (one sgemm, BLAS threads it)
//             y[n, co, :]       = f(out[co, b*P : b*P + P] + bias[co])   f = relu or identity
//   backward: G    (cout, B*P)  = dy gathered per chunk (masked by y > 0 when relu is fused)
//             db[co]           += sum of G's row co
//             dW   (K, cout)   += cols G^T                        (im2col recomputed, beta = 1)
//             dcols (K, B*P)    = W G                             (reuses the cols buffer)
//             dx[n, c]          = col2im of dcols                 (OpenMP over images x channels)
//
// Columns are recomputed in backward rather than saved: storing them would take K*P floats
// per image (conv2 of the CIFAR model: 0.9 MB an image, 118 MB a batch), and im2col of a
// chunk that stays in cache is cheaper than streaming that back from memory.
// BLAS is never called inside our own OpenMP regions (OpenBLAS-OpenMP can misbehave there):
// the parallel loops sit between the sgemms.
#include "layers/conv2d_op.h"

#include <algorithm>

#include "autograd/node.h"
#include "core/blas.h"
#include "core/error.h"
#include "layers/conv_im2col.h"

namespace mc {

namespace {

// Sized on the CIFAR model on 2 cores: an sgemm wants a few thousand columns; beyond that a
// larger column buffer only falls out of cache.
constexpr int64_t kTargetColumns = 2304;
constexpr int64_t kMaxColumnFloats = int64_t{1} << 22;  // 16 MB

struct ConvShape {
  int64_t n, c, cout, k, p;
  WindowGeometry g;
};

ConvShape check_shapes(const Tensor& x, const Tensor& w, const Tensor* b, const Conv2dSpec& spec) {
  MC_CHECK(x.dim() == 4, ShapeError, "conv2d expects x (N, C, H, W), got " << to_string(x.shape()));
  ConvShape s;
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
  return s;
}

// cols (K, B*P): the chunk's images [n0, n0 + nb) side by side.
void im2col_chunk(const float* x, const ConvShape& s, int64_t n0, int64_t nb, float* cols) {
  const int64_t ld = nb * s.p, plane = s.g.in_h * s.g.in_w;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t c = 0; c < s.c; ++c)
      im2col_channel(x + ((n0 + b) * s.c + c) * plane, c, s.c, s.g, cols + b * s.p, ld);
}

}  // namespace

int64_t conv_chunk_images(int64_t n, int64_t k, int64_t p) {
  int64_t b = std::max<int64_t>(1, (kTargetColumns + p - 1) / p);
  b = std::min(b, std::max<int64_t>(1, kMaxColumnFloats / std::max<int64_t>(1, k * p)));
  return std::clamp<int64_t>(b, 1, std::max<int64_t>(n, 1));
}

Var conv2d(const Var& x, const Var& w, const Var& bias, const Conv2dSpec& spec) {
  const bool has_bias = bias.defined();
  const ConvShape s = check_shapes(x.value(), w.value(), has_bias ? &bias.value() : nullptr, spec);
  const int64_t n = s.n, cout = s.cout, k = s.k, p = s.p;
  const int64_t chunk = conv_chunk_images(n, k, p);
  const bool relu = spec.relu;

  Tensor y = Tensor::empty({n, cout, s.g.out_h, s.g.out_w});
  {
    Tensor cols = Tensor::empty({k, chunk * p});
    Tensor out = Tensor::empty({cout, chunk * p});
    const float* px = x.value().data();
    const float* pw = w.value().data();
    const float* pb = has_bias ? bias.value().data() : nullptr;
    float* py = y.data();
    for (int64_t n0 = 0; n0 < n; n0 += chunk) {
      const int64_t nb = std::min(chunk, n - n0), ld = nb * p;
      im2col_chunk(px, s, n0, nb, cols.data());
      // out (cout, nb*P) = W^T (cout, K) cols (K, nb*P)
      sgemm_raw(Trans::Yes, Trans::No, cout, ld, k, 1.0f, pw, cout, cols.data(), ld, 0.0f, out.data(), ld);
      const float* po = out.data();
#pragma omp parallel for collapse(2) schedule(static)
      for (int64_t b = 0; b < nb; ++b)
        for (int64_t co = 0; co < cout; ++co) {
          const float* src = po + co * ld + b * p;
          float* dst = py + ((n0 + b) * cout + co) * p;
          const float bv = pb ? pb[co] : 0.0f;
          if (relu) {
#pragma omp simd
            for (int64_t i = 0; i < p; ++i) dst[i] = std::max(src[i] + bv, 0.0f);
          } else {
#pragma omp simd
            for (int64_t i = 0; i < p; ++i) dst[i] = src[i] + bv;
          }
        }
    }
  }

  std::vector<Var> inputs{x, w};
  if (has_bias) inputs.push_back(bias);
  SavedTensor saved_y = relu ? SavedTensor(y, "conv2d") : SavedTensor();
  return record(
      "conv2d", y, std::move(inputs),
      [sx = SavedTensor(x.value(), "conv2d"), sw = SavedTensor(w.value(), "conv2d"), saved_y, s, chunk, relu,
       has_bias](const Grads& grads, const Needs& need) {
        const int64_t n = s.n, cout = s.cout, k = s.k, p = s.p, C = s.c;
        const int64_t plane = s.g.in_h * s.g.in_w;
        const bool need_x = need[0], need_w = need[1], need_b = has_bias && need[2];
        const float* gy = grads[0].data();  // (N, cout, OH, OW)
        const float* py = relu ? saved_y.get().data() : nullptr;
        const float* px = sx.get().data();
        const float* pw = sw.get().data();
        Grads result(has_bias ? 3 : 2);
        Tensor dx, dw, db;
        if (need_x) dx = Tensor::empty(sx.get().shape());
        if (need_w) dw = n > 0 ? Tensor::empty({k, cout}) : Tensor::zeros({k, cout});
        if (need_b) db = Tensor::zeros({cout});
        Tensor g = Tensor::empty({cout, chunk * p});
        Tensor cols = (need_x || need_w) ? Tensor::empty({k, chunk * p}) : Tensor();
        for (int64_t n0 = 0; n0 < n; n0 += chunk) {
          const int64_t nb = std::min(chunk, n - n0), ld = nb * p;
          float* pg = g.data();
          // G (cout, nb*P) from dy (nb, cout, P); threads own output channels, so db needs no atomics.
#pragma omp parallel for schedule(static)
          for (int64_t co = 0; co < cout; ++co) {
            float sum = 0.0f;
            for (int64_t b = 0; b < nb; ++b) {
              const int64_t off = ((n0 + b) * cout + co) * p;
              float* dst = pg + co * ld + b * p;
              if (relu) {
#pragma omp simd reduction(+ : sum)
                for (int64_t i = 0; i < p; ++i) {
                  dst[i] = py[off + i] > 0.0f ? gy[off + i] : 0.0f;
                  sum += dst[i];
                }
              } else {
#pragma omp simd reduction(+ : sum)
                for (int64_t i = 0; i < p; ++i) {
                  dst[i] = gy[off + i];
                  sum += dst[i];
                }
              }
            }
            if (need_b) db.data()[co] += sum;
          }
          if (need_w) {
            im2col_chunk(px, s, n0, nb, cols.data());
            // dW (K, cout) += cols (K, nb*P) G^T (nb*P, cout)
            sgemm_raw(Trans::No, Trans::Yes, k, cout, ld, 1.0f, cols.data(), ld, pg, ld, n0 == 0 ? 0.0f : 1.0f,
                      dw.data(), cout);
          }
          if (need_x) {
            // dcols (K, nb*P) = W (K, cout) G (cout, nb*P), into the (now free) cols buffer
            sgemm_raw(Trans::No, Trans::No, k, ld, cout, 1.0f, pw, cout, pg, ld, 0.0f, cols.data(), ld);
            const float* pc = cols.data();
            float* pdx = dx.data();
#pragma omp parallel for collapse(2) schedule(static)
            for (int64_t b = 0; b < nb; ++b)
              for (int64_t c = 0; c < C; ++c)
                col2im_channel(pc + b * p, ld, c, C, s.g, pdx + ((n0 + b) * C + c) * plane);
          }
        }
        result[0] = dx;
        result[1] = dw;
        if (has_bias) result[2] = db;
        return result;
      });
}

}  // namespace mc
