// LRN forward and backward, OpenMP-parallel over images. In NCHW the channel window of a
// pixel is strided, so every step works on whole channel planes (P contiguous pixels) and
// vectorises over pixels. Writing s = bias + alpha * sum_window x^2 and q = s^-beta:
//
//   forward:  y_d  = x_d q_d
//   backward: dx_j = g_j q_j - 2 alpha beta x_j sum_{d : |d - j| <= r} g_d y_d / s_d
//
// (the window relation is symmetric, so the adjoint's sum is over the same window). Only x
// is saved; backward recomputes s per image in a scratch buffer, which costs less than
// keeping a second activation alive between forward and backward.
#include "matcomp/layers/modules/lrn.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "matcomp/autograd/node.h"
#include "matcomp/core/error.h"
#include "matcomp/layers/modules/pool2d.h"

namespace mc {

namespace {

struct LrnShape {
  int64_t n, c, p;
};

LrnShape lrn_shape(const Tensor& x) {
  MC_CHECK(x.dim() >= 2, ShapeError, "lrn expects x (N, C, ...), got " << to_string(x.shape()));
  return {x.size(0), x.size(1), x.size(0) * x.size(1) == 0 ? 0 : x.numel() / (x.size(0) * x.size(1))};
}

// s (C, P) = bias + alpha * windowed sum over channels of x^2, for one image x (C, P).
// sq is scratch (C, P).
void window_scale(const float* x, const LrnShape& sh, const LrnSpec& spec, float* sq, float* s) {
  const int64_t C = sh.c, P = sh.p, r = spec.depth_radius;
#pragma omp simd
  for (int64_t i = 0; i < C * P; ++i) sq[i] = x[i] * x[i];
  for (int64_t d = 0; d < C; ++d) {
    float* sd = s + d * P;
    std::fill(sd, sd + P, 0.0f);
    // Summing the window directly (2r + 1 planes) rather than a running add/subtract keeps
    // every s exact to float rounding of its own terms, with no drift along the channels.
    for (int64_t e = std::max<int64_t>(d - r, 0); e <= std::min<int64_t>(d + r, C - 1); ++e) {
      const float* qe = sq + e * P;
#pragma omp simd
      for (int64_t i = 0; i < P; ++i) sd[i] += qe[i];
    }
#pragma omp simd
    for (int64_t i = 0; i < P; ++i) sd[i] = spec.bias + spec.alpha * sd[i];
  }
}

// q = s^-beta, in place over n values. beta 0.75 and 0.5 take sqrt-only forms: powf does not
// vectorise, and neither does std::sqrt while it may set errno (no -ffast-math here), hence
// the AVX-512 intrinsics for the model's beta 0.75 (maskz_sqrt: GCC 12 warns on sqrt_ps's undefined passthrough).
void neg_pow(float* v, int64_t n, float beta) {
#if defined(__AVX512F__)
  if (beta == 0.75f) {
    const __m512 one = _mm512_set1_ps(1.0f);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
      const __m512 s = _mm512_loadu_ps(v + i);
      _mm512_storeu_ps(v + i, _mm512_div_ps(one, _mm512_maskz_sqrt_ps(0xFFFF, _mm512_mul_ps(s, _mm512_maskz_sqrt_ps(0xFFFF, s)))));
    }
    for (; i < n; ++i) v[i] = 1.0f / std::sqrt(v[i] * std::sqrt(v[i]));
    return;
  }
#endif
  if (beta == 0.75f) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) v[i] = 1.0f / std::sqrt(v[i] * std::sqrt(v[i]));
  } else if (beta == 0.5f) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) v[i] = 1.0f / std::sqrt(v[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) v[i] = std::pow(v[i], -beta);
  }
}

// Per-thread scratch of 3 x CP floats, kept between calls: allocating it inside every
// parallel region made each worker thread's malloc arena fault its pages in again.
float* scratch(int64_t floats) {
  thread_local std::vector<float> buffer;
  if (static_cast<int64_t>(buffer.size()) < floats) buffer.resize(static_cast<size_t>(floats));
  return buffer.data();
}

// One image: y (C, P) = x * (bias + alpha * window sum x^2)^-beta. scratch: 2 * C * P floats.
void lrn_forward_image(const float* xb, float* yb, const LrnShape& sh, const LrnSpec& spec, float* scratch2) {
  const int64_t CP = sh.c * sh.p;
  float* sq = scratch2;
  float* q = sq + CP;
  window_scale(xb, sh, spec, sq, q);
  neg_pow(q, CP, spec.beta);
#pragma omp simd
  for (int64_t i = 0; i < CP; ++i) yb[i] = xb[i] * q[i];
}

// One image: db (C, P) from x and the output gradient gb. scratch: 3 * C * P floats.
void lrn_backward_image(const float* xb, const float* gb, float* db, const LrnShape& sh, const LrnSpec& spec,
                        float* scratch3) {
  const int64_t C = sh.c, P = sh.p, CP = C * P, r = spec.depth_radius;
  const float k = 2.0f * spec.alpha * spec.beta;
  float* sq = scratch3;
  float* s = sq + CP;
  float* t = s + CP;
  window_scale(xb, sh, spec, sq, s);
  // sq <- q = s^-beta ; t = g y / s = g x q / s
  std::copy(s, s + CP, sq);
  neg_pow(sq, CP, spec.beta);
#pragma omp simd
  for (int64_t i = 0; i < CP; ++i) t[i] = gb[i] * xb[i] * sq[i] / s[i];
  for (int64_t j = 0; j < C; ++j) {
    // s's plane j is no longer needed: reuse it for the windowed sum of t.
    float* acc = s + j * P;
    std::fill(acc, acc + P, 0.0f);
    for (int64_t d = std::max<int64_t>(j - r, 0); d <= std::min<int64_t>(j + r, C - 1); ++d) {
      const float* td = t + d * P;
#pragma omp simd
      for (int64_t i = 0; i < P; ++i) acc[i] += td[i];
    }
    const float* qj = sq + j * P;
    const float* xj = xb + j * P;
    const float* gj = gb + j * P;
    float* dj = db + j * P;
#pragma omp simd
    for (int64_t i = 0; i < P; ++i) dj[i] = gj[i] * qj[i] - k * xj[i] * acc[i];
  }
}

void check_spec(const LrnSpec& spec) {
  MC_CHECK(spec.depth_radius >= 0 && spec.bias > 0.0f && spec.alpha >= 0.0f, ValueError,
           "lrn: depth_radius " << spec.depth_radius << ", bias " << spec.bias << ", alpha " << spec.alpha
                                << " (need radius >= 0, bias > 0, alpha >= 0 so the base stays positive)");
}

}  // namespace

Var lrn(const Var& x, const LrnSpec& spec) {
  const Tensor& xv = x.value();
  const LrnShape sh = lrn_shape(xv);
  check_spec(spec);
  const int64_t CP = sh.c * sh.p;
  Tensor y = Tensor::empty(xv.shape());
  const float* px = xv.data();
  float* py = y.data();
#pragma omp parallel for schedule(static) if (sh.n * CP > 16384)
  for (int64_t b = 0; b < sh.n; ++b) lrn_forward_image(px + b * CP, py + b * CP, sh, spec, scratch(2 * CP));
  return record("lrn", y, {x}, [sx = SavedTensor(xv, "lrn"), sh, spec](const Grads& grads, const Needs&) {
    const int64_t CP = sh.c * sh.p;
    const float* px = sx.get().data();
    const float* gy = grads[0].data();
    Tensor dx = Tensor::empty(sx.get().shape());
    float* pd = dx.data();
#pragma omp parallel for schedule(static) if (sh.n * CP > 16384)
    for (int64_t b = 0; b < sh.n; ++b) lrn_backward_image(px + b * CP, gy + b * CP, pd + b * CP, sh, spec, scratch(3 * CP));
    return Grads{dx};
  });
}

Var lrn_maxpool(const Var& x, const LrnSpec& spec, const Pool2dSpec& pool) {
  const Tensor& xv = x.value();
  MC_CHECK(xv.dim() == 4, ShapeError, "lrn_maxpool expects x (N, C, H, W), got " << to_string(xv.shape()));
  check_spec(spec);
  const LrnShape sh = lrn_shape(xv);
  const WindowGeometry g = WindowGeometry::make(xv.size(2), xv.size(3), pool.kernel_h, pool.kernel_w, pool.stride, pool.padding);
  MC_CHECK(sh.p <= INT32_MAX, ShapeError, "lrn_maxpool: plane " << to_string(xv.shape()) << " too large");
  const int64_t C = sh.c, P = sh.p, CP = C * P, PP = g.out_h * g.out_w;
  Tensor y = Tensor::empty({sh.n, C, g.out_h, g.out_w});
  // Uninitialised (every entry is written by the forward): no single-threaded zero fill.
  std::shared_ptr<int32_t[]> argmax(new int32_t[static_cast<size_t>(sh.n * C * PP)]);
  const float* px = xv.data();
  float* py = y.data();
  int32_t* pa = argmax.get();
#pragma omp parallel for schedule(static) if (sh.n * CP > 16384)
  for (int64_t b = 0; b < sh.n; ++b) {
    float* buf = scratch(3 * CP);  // [0, 2CP) for the LRN, [2CP, 3CP) its output
    float* yl = buf + 2 * CP;
    lrn_forward_image(px + b * CP, yl, sh, spec, buf);
    for (int64_t c = 0; c < C; ++c) max_pool_plane(yl + c * P, g, py + (b * C + c) * PP, pa + (b * C + c) * PP);
  }
  return record("lrn_maxpool", y, {x},
                [sx = SavedTensor(xv, "lrn_maxpool"), argmax, sh, spec, PP](const Grads& grads, const Needs&) {
                  const int64_t C = sh.c, P = sh.p, CP = C * P;
                  const float* px = sx.get().data();
                  const float* gy = grads[0].data();  // (N, C, PH, PW)
                  const int32_t* pa = argmax.get();
                  Tensor dx = Tensor::empty(sx.get().shape());
                  float* pd = dx.data();
#pragma omp parallel for schedule(static) if (sh.n * CP > 16384)
                  for (int64_t b = 0; b < sh.n; ++b) {
                    float* buf = scratch(4 * CP);  // [0, 3CP) for the LRN backward, [3CP, 4CP) its dy
                    float* gl = buf + 3 * CP;
                    std::fill(gl, gl + CP, 0.0f);
                    for (int64_t c = 0; c < C; ++c) {
                      const int64_t q = (b * C + c) * PP;
                      for (int64_t o = 0; o < PP; ++o) gl[c * P + pa[q + o]] += gy[q + o];
                    }
                    lrn_backward_image(px + b * CP, gl, pd + b * CP, sh, spec, buf);
                  }
                  return Grads{dx};
                });
}

}  // namespace mc
