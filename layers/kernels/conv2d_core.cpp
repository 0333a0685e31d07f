// The conv engine. Per chunk of B images (P = OH * OW pixels each, K = kh*kw*C):
//
//   forward:  cols (K, B*P)     = im2col of the chunk
//             out  (cout, B*P)  = W^T (cout, K) cols             (one sgemm)
//             -> the op's epilogue (bias, ReLU, pooling; scatter to NCHW)
//   backward: G    (cout, B*P)  <- the op's prologue
//             db part (cout)    = sums of G's rows
//             dW^T part (cout, K) = G cols^T                      (im2col recomputed; this
//                                                                 orientation runs ~1.4x
//                                                                 faster in OpenBLAS than cols G^T)
//   dx, stride 1 and cout <= C: dx is the convolution of G with the flipped kernel (a "full"
//             correlation, padding kh-1-pad_top / kw-1-pad_left), computed like the forward:
//             gcols (kh*kw*cout, B*H*W) = im2col of G;  dxb (C, B*H*W) = Wf^T gcols;  scatter.
//             Against dcols = W G followed by col2im this runs the sgemm in the forward's
//             efficient shape (~10 % faster on conv2 of the CIFAR model) and skips zeroing and
//             read-modify-writing a K x B*P matrix. With cout > C (conv1: 3 -> 64) the
//             flipped problem would be larger, so:
//   dx otherwise: dcols (K, B*P) = W G (into the cols buffer);  dx = col2im of dcols.
//   After the last chunk, dW and db are the chunks' parts summed in chunk order.
//
// The products: OpenBLAS's sgemm as written above, or (the default where it is compiled,
// layer_gemm.h) the builtin kernel, which packs nothing and does not need the columns
// formed at all: it reads each window where it lies in the zero-padded chunk through two
// offset tables (conv_windows.h), so im2col's K x B*P columns become a C x Hp x Wp copy per
// image. Forward as out^T (B*P, cout) = cols^T W stored transposed, dW directly as
// (K, cout) = cols G^T (G^T copied out first: cout x B*P floats), dx per image as
// dx^T = gcols^T Wf stored transposed straight into dx (G padded the same way); only
// dx through col2im (cout > C or stride > 1) still forms columns (dcols). On the CIFAR
// model's step it runs the convolutions near the machine's FMA peak (docs/notes/performance-history.md).
//
// Threads: with at least as many chunks as threads, each thread takes whole chunks (im2col,
// a single-threaded sgemm, the epilogue), so its columns stay in its own cache and a step
// has one fork/join per convolution instead of several per chunk; OpenBLAS's OpenMP build
// runs on the calling thread inside a parallel region. With fewer chunks (small batches)
// the chunks run in order, the loops and the sgemm threaded inside each. The parts are summed
// in a fixed order, so with at least as many chunks as threads the results do not depend on
// the thread count (tested); with fewer, the threaded sgemm does (OpenBLAS's multi-threaded
// sgemm rounds differently from its single-threaded one). Small chunks (about 1152 columns,
// at most 2 MB of columns) won over the former ~2304 columns / 8 MB, whose buffers sat far outside a core's
// L2 (docs/notes/performance-history.md has the A/B).
//
// Columns are recomputed in backward rather than saved: storing them would take K*P floats
// per image (conv2 of the CIFAR model: 0.9 MB an image, 118 MB a batch), and im2col of a
// chunk that stays in cache is cheaper than streaming that back from memory.
// The column, output and gradient buffers are a per-thread workspace kept between calls:
// fresh multi-megabyte buffers every call were page-faulted in again each time.
#include "matcomp/layers/kernels/conv2d_core.h"

#include <omp.h>

#include <algorithm>

#include "matcomp/core/blas.h"
#include "matcomp/core/error.h"
#include "matcomp/core/parallel.h"
#include "matcomp/layers/kernels/layer_gemm.h"
#include "matcomp/layers/kernels/conv_im2col.h"
#include "matcomp/layers/kernels/conv_windows.h"

namespace mc {

namespace {

// Sized on the CIFAR model on 2 cores (interleaved runs, docs/notes/performance-history.md): about a
// thousand columns, at most 2 MB of them, so a thread's chunk stays near its core's L2.
constexpr int64_t kTargetColumns = 1152;
constexpr int64_t kMaxColumnFloats = int64_t{1} << 19;  // 2 MB

// Per-thread scratch that only grows: slot 0 columns, slot 1 output / gradient block,
// slot 2 the chunks' dW parts (the calling thread's), slot 3 the flipped kernel, slot 4
// the dx block (OpenBLAS) or G transposed (builtin kernel), slot 5 the padded input or G
// (builtin kernel, windows read in place).
float* workspace(int slot, int64_t floats) {
  thread_local Tensor buffers[6];
  Tensor& t = buffers[slot];
  if (!t.defined() || t.numel() < floats) t = Tensor::empty({floats});
  return t.data();
}

// cols (K, nb*P): the chunk's images [n0, n0 + nb) side by side; x planes are (H, W).
void im2col_chunk(const float* x, int64_t channels, const WindowGeometry& g, int64_t n0, int64_t nb, float* cols) {
  const int64_t p = g.out_h * g.out_w, ld = nb * p, plane = g.in_h * g.in_w;
#pragma omp parallel for if (!omp_in_parallel()) collapse(2) schedule(static)
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

namespace {

// Chunks run one per thread, each with a single-threaded sgemm (OpenBLAS's OpenMP build
// runs on the calling thread inside a parallel region), when there are enough of them;
// otherwise one after another with the sgemm threaded (whose last bits can differ).
bool chunks_in_parallel(int64_t chunks) {
  const int threads = num_threads();
  return threads > 1 && chunks >= threads;
}

// run_chunk(0..chunks-1): in parallel, one chunk per thread, or in order with the library's
// own threads inside each chunk.
template <class F>
void for_each_chunk(int64_t chunks, const F& run_chunk) {
  if (chunks_in_parallel(chunks)) {
#pragma omp parallel for schedule(static)
    for (int64_t ci = 0; ci < chunks; ++ci) run_chunk(ci);
  } else {
    for (int64_t ci = 0; ci < chunks; ++ci) run_chunk(ci);
  }
}

}  // namespace

void conv_forward(const float* x, const float* w, const ConvProblem& s, const ConvEpilogue& epilogue) {
  const bool builtin = layer_gemm() == LayerGemm::Builtin;
  const int64_t chunks = (s.n + s.chunk - 1) / s.chunk;
  const int64_t plane = s.g.in_h * s.g.in_w;
  auto run_chunk = [&](int64_t ci) {
    float* out = workspace(1, s.cout * s.chunk * s.p);
    const int64_t n0 = ci * s.chunk, nb = std::min(s.chunk, s.n - n0), ld = nb * s.p;
    if (builtin) {
      // out^T (nb*P, cout) = cols^T (nb*P, K) W (K, cout), stored transposed, the columns
      // read in place from the padded chunk
      const ConvWindows win = conv_windows(s.g, s.c, nb);
      float* xp = workspace(5, nb * win.image_floats());
      pad_planes(x + n0 * s.c * plane, s.c * plane, plane, nb, s.g, win, xp);
      builtin_gemm_gathered(ld, s.cout, s.k, xp, win.pixels.data(), win.taps.data(), w, s.cout, out, 1, ld);
    } else {
      float* cols = workspace(0, s.k * s.chunk * s.p);
      im2col_chunk(x, s.c, s.g, n0, nb, cols);
      // out (cout, nb*P) = W^T (cout, K) cols (K, nb*P)
      sgemm_raw(Trans::Yes, Trans::No, s.cout, ld, s.k, 1.0f, w, s.cout, cols, ld, 0.0f, out, ld);
    }
    epilogue(n0, nb, out, ld);
  };
  for_each_chunk(chunks, run_chunk);
}

ConvGrads conv_backward(const float* x, const float* w, const ConvProblem& s, bool need_x, bool need_w, bool need_b,
                        const ConvPrologue& prologue) {
  const int64_t n = s.n, cout = s.cout, k = s.k, p = s.p, C = s.c, chunk = s.chunk;
  const int64_t plane = s.g.in_h * s.g.in_w;
  ConvGrads r;
  if (need_x) r.dx = Tensor::empty({n, C, s.g.in_h, s.g.in_w});
  if (need_w) r.dw = Tensor::empty({k, cout});
  if (need_b) r.db = Tensor::zeros({cout});

  const bool builtin = layer_gemm() == LayerGemm::Builtin;
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
  const int64_t col_floats = std::max(k * chunk * p, transposed ? kt * chunk * plane : 0);
  const int64_t chunks = (n + chunk - 1) / chunk;
  // Each chunk's dW part and db (cout) on its own, summed in chunk order at the end: the same
  // bits whichever thread ran which chunk, and for any thread count. The parts are dW^T
  // (cout, K) from OpenBLAS (its faster orientation), dW (K, cout) from the builtin kernel.
  float* dw_parts = need_w ? workspace(2, chunks * cout * k) : nullptr;
  Tensor db_parts = need_b ? Tensor::empty({chunks, cout}) : Tensor();
  auto run_chunk = [&](int64_t ci) {
    const int64_t n0 = ci * chunk, nb = std::min(chunk, n - n0), ld = nb * p;
    float* pg = workspace(1, cout * chunk * p);
    // columns formed only where the product cannot read the windows in place
    const bool cols_needed = builtin ? need_x && !transposed : need_x || need_w;
    float* cols = cols_needed ? workspace(0, col_floats) : nullptr;
    prologue(n0, nb, pg, ld);
    if (need_b) {
      float* db = db_parts.data() + ci * cout;
#pragma omp parallel for if (!omp_in_parallel()) schedule(static)
      for (int64_t co = 0; co < cout; ++co) {
        float sum = 0.0f;
        const float* row = pg + co * ld;
#pragma omp simd reduction(+ : sum)
        for (int64_t i = 0; i < ld; ++i) sum += row[i];
        db[co] = sum;
      }
    }
    if (need_w) {
      if (builtin) {
        // dW part (K, cout) = cols (K, nb*P) G^T (nb*P, cout); G^T copied out first (small),
        // the columns read in place from the padded chunk (the tables swapped: a row is a tap)
        float* gt_rows = workspace(4, ld * cout);
        for (int64_t co = 0; co < cout; ++co)
          for (int64_t i = 0; i < ld; ++i) gt_rows[i * cout + co] = pg[co * ld + i];
        const ConvWindows win = conv_windows(s.g, C, nb);
        float* xp = workspace(5, nb * win.image_floats());
        pad_planes(x + n0 * C * plane, C * plane, plane, nb, s.g, win, xp);
        builtin_gemm_gathered(k, cout, ld, xp, win.taps.data(), win.pixels.data(), gt_rows, cout,
                              dw_parts + ci * cout * k, cout, 1);
      } else {
        im2col_chunk(x, C, s.g, n0, nb, cols);
        // dW^T part (cout, K) = G (cout, nb*P) cols^T (nb*P, K)
        sgemm_raw(Trans::No, Trans::Yes, cout, k, ld, 1.0f, pg, ld, cols, ld, 0.0f, dw_parts + ci * cout * k, k);
      }
    }
    if (transposed) {
      const int64_t ld2 = nb * plane;
      float* pdx = r.dx.data();
      if (builtin) {
        // per image: dx^T (H*W, C) = gcols^T (H*W, kt) Wf (kt, C), stored transposed into dx,
        // G's columns read in place from G padded (its planes sit at pg + co*ld + b*P)
        const ConvWindows win = conv_windows(gt, cout, 1);
        float* gp = workspace(5, nb * win.image_floats());
        pad_planes(pg, p, ld, nb, gt, win, gp);
        for (int64_t b = 0; b < nb; ++b)
          builtin_gemm_gathered(plane, C, kt, gp + b * win.image_floats(), win.pixels.data(), win.taps.data(), wf, C,
                                pdx + (n0 + b) * C * plane, 1, plane);
      } else {
        // gcols (kt, nb*H*W): G's planes (cout of them per image) sit at pg + co*ld + b*P.
#pragma omp parallel for if (!omp_in_parallel()) collapse(2) schedule(static)
        for (int64_t b = 0; b < nb; ++b)
          for (int64_t co = 0; co < cout; ++co) im2col_channel(pg + co * ld + b * p, co, cout, gt, cols + b * plane, ld2);
        float* dxb = workspace(4, C * chunk * plane);
        // dxb (C, nb*H*W) = Wf^T (C, kt) gcols (kt, nb*H*W)
        sgemm_raw(Trans::Yes, Trans::No, C, ld2, kt, 1.0f, wf, C, cols, ld2, 0.0f, dxb, ld2);
#pragma omp parallel for if (!omp_in_parallel()) collapse(2) schedule(static)
        for (int64_t b = 0; b < nb; ++b)
          for (int64_t c = 0; c < C; ++c)
            std::copy(dxb + c * ld2 + b * plane, dxb + c * ld2 + (b + 1) * plane, pdx + ((n0 + b) * C + c) * plane);
      }
    } else if (need_x) {
      // dcols (K, nb*P) = W (K, cout) G (cout, nb*P), into the (now free) cols buffer
      if (builtin)
        builtin_gemm(k, ld, cout, w, cout, 1, pg, ld, cols, ld, 1);
      else
        sgemm_raw(Trans::No, Trans::No, k, ld, cout, 1.0f, w, cout, pg, ld, 0.0f, cols, ld);
      float* pdx = r.dx.data();
#pragma omp parallel for if (!omp_in_parallel()) collapse(2) schedule(static)
      for (int64_t b = 0; b < nb; ++b)
        for (int64_t c = 0; c < C; ++c) col2im_channel(cols + b * p, ld, c, C, s.g, pdx + ((n0 + b) * C + c) * plane);
    }
  };
  for_each_chunk(chunks, run_chunk);
  if (need_b) {
    float* db = r.db.data();
    for (int64_t ci = 0; ci < chunks; ++ci)
      for (int64_t co = 0; co < cout; ++co) db[co] += db_parts.data()[ci * cout + co];
  }
  if (need_w) {
    // the parts summed in chunk order into part 0 (element by element: either layout)
    const int64_t part = k * cout;
#pragma omp parallel for schedule(static) if (chunks * part > 65536)
    for (int64_t i0 = 0; i0 < part; i0 += 1024) {
      const int64_t len = std::min<int64_t>(1024, part - i0);
      for (int64_t ci = 1; ci < chunks; ++ci) {
        const float* src = dw_parts + ci * part + i0;
        float* acc = dw_parts + i0;
#pragma omp simd
        for (int64_t i = 0; i < len; ++i) acc[i] += src[i];
      }
    }
    // dW (K, cout): part 0 as it is (builtin) or transposed (OpenBLAS); no images: zeros
    float* pdw = r.dw.data();
    if (chunks == 0) {
      std::fill(pdw, pdw + part, 0.0f);
    } else if (builtin) {
      std::copy(dw_parts, dw_parts + part, pdw);
    } else {
#pragma omp parallel for schedule(static) if (part > 65536)
      for (int64_t row = 0; row < k; ++row)
        for (int64_t co = 0; co < cout; ++co) pdw[row * cout + co] = dw_parts[co * k + row];
    }
  }
  return r;
}

}  // namespace mc
