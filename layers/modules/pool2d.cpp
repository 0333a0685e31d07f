// max_pool2d forward and backward, OpenMP-parallel over the N * C planes (each plane is
// independent in both directions, so the backward scatter needs no atomics).
#include "matcomp/layers/modules/pool2d.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "matcomp/autograd/node.h"
#include "matcomp/core/error.h"

namespace mc {

namespace {

// One candidate: a strictly larger value replaces (m, best); selects by mask arithmetic, as
// random data would mispredict a branch half the time. std::max(m, v) is m unless v > m.
// (NaN: a NaN first pixel stays and a later NaN never enters; the general path below differs
// there, as a NaN at the top of a column hides that column's other pixels. A NaN reaching a
// pool means the step is already lost; the training loop stops on the non-finite loss.)
inline void take_if_larger(float v, int64_t offset, float& m, int64_t& best) {
  const int64_t take = -static_cast<int64_t>(v > m);
  m = std::max(m, v);
  best ^= (best ^ offset) & take;
}

// 3x3 windows at stride 2 from the top-left corner (the model's pools: SAME on even sizes),
// straight from the input: each output scans its up-to-9 pixels in row-major order and keeps
// a strictly larger value, so the first occurrence wins ties, exactly as in the general path.
// No intermediate column maxima: on narrow planes the general path's short vector loops are
// mostly masked tails and per-row setup.
void max_pool_plane_3x3_stride2(const float* xp, const WindowGeometry& g, float* yp, int32_t* ap) {
  const int64_t H = g.in_h, W = g.in_w, OH = g.out_h, OW = g.out_w;
  // Outputs [0, full) have all 3 columns inside the row (2 ow + 2 <= W - 1); with all 3 rows
  // inside too, their 3x3 windows are unrolled.
  const int64_t full = std::min<int64_t>(OW, (W - 1) / 2);
  for (int64_t oh = 0; oh < OH; ++oh) {
    const int64_t h0 = 2 * oh, rows = std::min<int64_t>(3, H - h0);
    float* yr = yp + oh * OW;
    int32_t* ar = ap + oh * OW;
    for (int64_t ow = 0; ow < OW; ++ow) {
      const int64_t w0 = 2 * ow;
      const float* p = xp + h0 * W + w0;
      float m = p[0];
      int64_t best = 0;  // offset from p: r * W + c
      if (ow < full && rows == 3) {
        take_if_larger(p[1], 1, m, best);
        take_if_larger(p[2], 2, m, best);
        take_if_larger(p[W], W, m, best);
        take_if_larger(p[W + 1], W + 1, m, best);
        take_if_larger(p[W + 2], W + 2, m, best);
        take_if_larger(p[2 * W], 2 * W, m, best);
        take_if_larger(p[2 * W + 1], 2 * W + 1, m, best);
        take_if_larger(p[2 * W + 2], 2 * W + 2, m, best);
      } else {
        const int64_t cols = std::min<int64_t>(3, W - w0);
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t c = 0; c < cols; ++c) take_if_larger(p[r * W + c], r * W + c, m, best);
      }
      yr[ow] = m;
      ar[ow] = static_cast<int32_t>(h0 * W + w0 + best);
    }
  }
}

#if defined(__AVX512F__)
// 3x3 windows at stride 2 from the top-left corner on planes 17 to 31 wide (the model's pool1:
// 24x24 -> 12x12), one output row per pass: the column maxima of the row's (up to) 3 input
// rows in two vectors (columns 0-15, and 16 on, past the edge -inf), then every output of the
// row at once from three permutes of them (columns 2 ow, 2 ow + 1, 2 ow + 2). The general
// path's rules exactly: a column keeps its topmost strict maximum, a window the larger value
// or, on a tie, the smaller index; so the same values and argmax for any input, NaN included.
// The -inf columns never win: a real column ties them only with a smaller index. Measured
// (BM_MaxPool2dForward, 2 threads) in docs/notes/performance-history.md.
void max_pool_plane_3x3_stride2_avx512(const float* xp, const WindowGeometry& g, float* yp, int32_t* ap) {
  const int64_t H = g.in_h, W = g.in_w, OH = g.out_h, OW = g.out_w;
  const __m512 ninf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  const __mmask16 right_columns = static_cast<__mmask16>((1u << (W - 16)) - 1);  // W - 16 < 16
  const __mmask16 outputs = static_cast<__mmask16>((1u << OW) - 1);               // OW <= 16
  const __m512i column_lo = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i column_hi = _mm512_add_epi32(column_lo, _mm512_set1_epi32(16));
  // Lane ow takes column 2 ow + j of the 32 (permutex2var: 0-15 the first vector, 16-31 the
  // second); column 32 does not exist, and 31 is always past the edge (W <= 31).
  const __m512i pick[3] = {
      _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30),
      _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31),
      _mm512_setr_epi32(2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 31)};
  for (int64_t oh = 0; oh < OH; ++oh) {
    const int64_t h0 = 2 * oh, h1 = std::min<int64_t>(h0 + 3, H);
    // Column maxima over rows [h0, h1): values (lo: columns 0-15, hi: 16-31) and indices h W + w.
    const float* row = xp + h0 * W;
    __m512 max_lo = _mm512_loadu_ps(row);
    __m512 max_hi = _mm512_mask_loadu_ps(ninf, right_columns, row + 16);
    __m512i arg_lo = _mm512_add_epi32(column_lo, _mm512_set1_epi32(static_cast<int32_t>(h0 * W)));
    __m512i arg_hi = _mm512_add_epi32(column_hi, _mm512_set1_epi32(static_cast<int32_t>(h0 * W)));
    for (int64_t h = h0 + 1; h < h1; ++h) {
      row += W;
      const __m512i base = _mm512_set1_epi32(static_cast<int32_t>(h * W));
      const __m512 v_lo = _mm512_loadu_ps(row);
      const __m512 v_hi = _mm512_mask_loadu_ps(ninf, right_columns, row + 16);
      const __mmask16 gt_lo = _mm512_cmp_ps_mask(v_lo, max_lo, _CMP_GT_OQ);
      const __mmask16 gt_hi = _mm512_cmp_ps_mask(v_hi, max_hi, _CMP_GT_OQ);
      max_lo = _mm512_mask_blend_ps(gt_lo, max_lo, v_lo);
      max_hi = _mm512_mask_blend_ps(gt_hi, max_hi, v_hi);
      arg_lo = _mm512_mask_blend_epi32(gt_lo, arg_lo, _mm512_add_epi32(column_lo, base));
      arg_hi = _mm512_mask_blend_epi32(gt_hi, arg_hi, _mm512_add_epi32(column_hi, base));
    }
    // Each output over its window's 3 columns.
    __m512 m = _mm512_permutex2var_ps(max_lo, pick[0], max_hi);
    __m512i best = _mm512_permutex2var_epi32(arg_lo, pick[0], arg_hi);
    for (int j = 1; j < 3; ++j) {
      const __m512 v = _mm512_permutex2var_ps(max_lo, pick[j], max_hi);
      const __m512i i = _mm512_permutex2var_epi32(arg_lo, pick[j], arg_hi);
      const __mmask16 take = _mm512_cmp_ps_mask(v, m, _CMP_GT_OQ) |
                             (_mm512_cmp_ps_mask(v, m, _CMP_EQ_OQ) & _mm512_cmplt_epi32_mask(i, best));
      m = _mm512_mask_blend_ps(take, m, v);
      best = _mm512_mask_blend_epi32(take, best, i);
    }
    _mm512_mask_storeu_ps(yp + oh * OW, outputs, m);
    _mm512_mask_storeu_epi32(ap + oh * OW, outputs, best);
  }
}
#endif

}  // namespace

void max_pool_plane(const float* xp, const WindowGeometry& g, float* yp, int32_t* ap) {
  // Narrow planes (the model's pool2: 12x12) go straight through their windows: measured
  // (BM_MaxPool2dForward) 2.1x faster there, but 1.2x slower than the separable path below on
  // 24x24 (pool1), where the column pass's vectors are full; with AVX-512, pool1's shape takes
  // the permute kernel, 9.9x faster than the separable path.
  const bool corner_3x3_stride2 = g.k_h == 3 && g.k_w == 3 && g.stride == 2 && g.pad_top == 0 && g.pad_left == 0;
  if (corner_3x3_stride2 && g.in_w <= 16) {
    max_pool_plane_3x3_stride2(xp, g, yp, ap);
    return;
  }
#if defined(__AVX512F__)
  if (corner_3x3_stride2 && g.in_w > 16 && g.in_w <= 31 && g.out_w <= 16) {
    max_pool_plane_3x3_stride2_avx512(xp, g, yp, ap);
    return;
  }
#endif
  // Separable: for each output row, first the maxima of every input column over the window's
  // rows (vectorised across columns), then each output's maximum over its window's columns.
  // The winner is the maximum's first occurrence in row-major window order, i.e. the largest
  // value with the smallest index h * W + w: columns keep their topmost maximum, and the
  // column step breaks ties towards the smaller index. Every SAME or VALID window holds at
  // least one real pixel, so clipping windows to the image is exactly -inf padding.
  const int64_t H = g.in_h, W = g.in_w, OW = g.out_w, s = g.stride;
  thread_local std::vector<float> col_max;
  thread_local std::vector<int32_t> col_arg;
  if (static_cast<int64_t>(col_max.size()) < W) {
    col_max.resize(static_cast<size_t>(W));
    col_arg.resize(static_cast<size_t>(W));
  }
  float* vm = col_max.data();
  int32_t* vi = col_arg.data();
  for (int64_t oh = 0; oh < g.out_h; ++oh) {
    const int64_t h0 = std::max<int64_t>(oh * s - g.pad_top, 0);
    const int64_t h1 = std::min<int64_t>(oh * s - g.pad_top + g.k_h, H);
    const float* first = xp + h0 * W;
#pragma omp simd
    for (int64_t w = 0; w < W; ++w) {
      vm[w] = first[w];
      vi[w] = static_cast<int32_t>(h0 * W + w);
    }
    for (int64_t h = h0 + 1; h < h1; ++h) {
      const float* row = xp + h * W;
#pragma omp simd
      for (int64_t w = 0; w < W; ++w) {
        const bool gt = row[w] > vm[w];
        vm[w] = gt ? row[w] : vm[w];
        vi[w] = gt ? static_cast<int32_t>(h * W + w) : vi[w];
      }
    }
    // Windows inside [0, W) (all but the edges): branch-free selects, vectorised across
    // outputs for the common 3-wide window; the clipped edge windows take the general loop.
    const int64_t lo = std::min<int64_t>((g.pad_left + s - 1) / s, OW);
    const int64_t hi = std::max<int64_t>(lo, std::min<int64_t>(W - g.k_w + g.pad_left >= 0 ? (W - g.k_w + g.pad_left) / s + 1 : 0, OW));
    if (g.k_w == 3) {
      float* yr = yp + oh * OW;
      int32_t* ar = ap + oh * OW;
#pragma omp simd
      for (int64_t ow = lo; ow < hi; ++ow) {
        const int64_t w = ow * s - g.pad_left;
        float m = vm[w];
        int32_t b = vi[w];
        for (int64_t j = 1; j < 3; ++j) {
          const float v = vm[w + j];
          const int32_t i = vi[w + j];
          const bool take = v > m || (v == m && i < b);
          m = take ? v : m;
          b = take ? i : b;
        }
        yr[ow] = m;
        ar[ow] = b;
      }
    }
    for (int64_t ow = 0; ow < OW; ++ow) {
      if (g.k_w == 3 && ow >= lo && ow < hi) continue;
      const int64_t w0 = std::max<int64_t>(ow * s - g.pad_left, 0);
      const int64_t w1 = std::min<int64_t>(ow * s - g.pad_left + g.k_w, W);
      float m = vm[w0];
      int32_t best = vi[w0];
      for (int64_t w = w0 + 1; w < w1; ++w)
        if (vm[w] > m || (vm[w] == m && vi[w] < best)) {
          m = vm[w];
          best = vi[w];
        }
      yp[oh * OW + ow] = m;
      ap[oh * OW + ow] = best;
    }
  }
}

Var max_pool2d(const Var& x, const Pool2dSpec& spec) {
  const Tensor& xv = x.value();
  MC_CHECK(xv.dim() == 4, ShapeError, "max_pool2d expects x (N, C, H, W), got " << to_string(xv.shape()));
  const WindowGeometry g =
      WindowGeometry::make(xv.size(2), xv.size(3), spec.kernel_h, spec.kernel_w, spec.stride, spec.padding);
  const int64_t planes = xv.size(0) * xv.size(1);
  MC_CHECK(g.in_h * g.in_w <= INT32_MAX, ShapeError, "max_pool2d: plane " << to_string(xv.shape()) << " too large");
  const int64_t H = g.in_h, W = g.in_w, OH = g.out_h, OW = g.out_w;
  Tensor y = Tensor::empty({xv.size(0), xv.size(1), OH, OW});
  // argmax[plane * OH * OW + o] = winning position h * W + w within the input plane
  // Uninitialised (every entry is written by the forward): no single-threaded zero fill.
  std::shared_ptr<int32_t[]> argmax(new int32_t[static_cast<size_t>(planes * OH * OW)]);
  const float* px = xv.data();
  float* py = y.data();
  int32_t* pa = argmax.get();
#pragma omp parallel for schedule(static) if (planes * OH * OW > 4096)
  for (int64_t q = 0; q < planes; ++q) max_pool_plane(px + q * H * W, g, py + q * OH * OW, pa + q * OH * OW);
  return record("max_pool2d", y, {x}, [argmax, in_shape = xv.shape(), planes, H, W, OH, OW](const Grads& grads, const Needs&) {
    Tensor dx = Tensor::empty(in_shape);  // (N, C, H, W)
    const float* gy = grads[0].data();    // (N, C, OH, OW)
    const int32_t* pa = argmax.get();
    float* pd = dx.data();
#pragma omp parallel for schedule(static) if (planes * H * W > 4096)
    for (int64_t q = 0; q < planes; ++q) {
      float* dp = pd + q * H * W;
      std::fill(dp, dp + H * W, 0.0f);
      const float* gp = gy + q * OH * OW;
      const int32_t* ap = pa + q * OH * OW;
      for (int64_t o = 0; o < OH * OW; ++o) dp[ap[o]] += gp[o];
    }
    return Grads{dx};
  });
}

}  // namespace mc
