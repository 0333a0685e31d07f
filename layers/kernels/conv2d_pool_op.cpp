// The fused conv + ReLU + max-pool on the conv engine (conv2d_core.h).
//   forward epilogue, per (image, channel) plane of a chunk: out += bias; out = max(out, 0);
//                    y, argmax = max_pool_plane(out)
//   backward prologue: G plane = 0; G[argmax[o]] += dy[o] wherever y[o] > 0. (A pooled 0
//                    means the winner was clipped by the ReLU, whose gradient there is 0.)
#include "matcomp/layers/kernels/conv2d_pool_op.h"

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "matcomp/autograd/node.h"
#include "matcomp/core/error.h"
#include "matcomp/layers/kernels/conv2d_core.h"

namespace mc {

Var conv2d_relu_maxpool(const Var& x, const Var& w, const Var& bias, const Conv2dSpec& conv, const Pool2dSpec& pool) {
  MC_CHECK(conv.relu, ValueError, "conv2d_relu_maxpool: the convolution spec must have relu = true");
  const bool has_bias = bias.defined();
  const ConvProblem s = conv_problem(x.value(), w.value(), has_bias ? &bias.value() : nullptr, conv);
  const WindowGeometry pg =
      WindowGeometry::make(s.g.out_h, s.g.out_w, pool.kernel_h, pool.kernel_w, pool.stride, pool.padding);
  MC_CHECK(s.p <= INT32_MAX, ShapeError, "conv2d_relu_maxpool: output plane too large");
  const int64_t cout = s.cout, p = s.p, pp = pg.out_h * pg.out_w;

  Tensor y = Tensor::empty({s.n, cout, pg.out_h, pg.out_w});
  // Uninitialised (every entry is written by the forward): no single-threaded zero fill.
  std::shared_ptr<int32_t[]> argmax(new int32_t[static_cast<size_t>(s.n * cout * pp)]);
  {
    const float* pb = has_bias ? bias.value().data() : nullptr;
    float* py = y.data();
    int32_t* pa = argmax.get();
    conv_forward(x.value().data(), w.value().data(), s, [&](int64_t n0, int64_t nb, float* out, int64_t ld) {
#pragma omp parallel for if (!omp_in_parallel()) collapse(2) schedule(static)
      for (int64_t b = 0; b < nb; ++b)
        for (int64_t co = 0; co < cout; ++co) {
          float* plane = out + co * ld + b * p;  // (OH, OW) of image n0 + b, channel co
          const float bv = pb ? pb[co] : 0.0f;
#pragma omp simd
          for (int64_t i = 0; i < p; ++i) plane[i] = std::max(plane[i] + bv, 0.0f);
          const int64_t q = (n0 + b) * cout + co;
          max_pool_plane(plane, pg, py + q * pp, pa + q * pp);
        }
    });
  }

  std::vector<Var> inputs{x, w};
  if (has_bias) inputs.push_back(bias);
  return record("conv2d_relu_maxpool", y, std::move(inputs),
                [sx = SavedTensor(x.value(), "conv2d_relu_maxpool"), sw = SavedTensor(w.value(), "conv2d_relu_maxpool"),
                 sy = SavedTensor(y, "conv2d_relu_maxpool"), argmax, s, pp, has_bias](const Grads& grads, const Needs& need) {
                  const int64_t cout = s.cout, p = s.p;
                  const float* gy = grads[0].data();  // (N, cout, PH, PW)
                  const float* py = sy.get().data();
                  const int32_t* pa = argmax.get();
                  ConvGrads r = conv_backward(sx.get().data(), sw.get().data(), s, need[0], need[1], has_bias && need[2],
                                              [&](int64_t n0, int64_t nb, float* g, int64_t ld) {
#pragma omp parallel for if (!omp_in_parallel()) collapse(2) schedule(static)
                                                for (int64_t co = 0; co < cout; ++co)
                                                  for (int64_t b = 0; b < nb; ++b) {
                                                    float* dst = g + co * ld + b * p;
                                                    std::fill(dst, dst + p, 0.0f);
                                                    const int64_t q = ((n0 + b) * cout + co) * pp;
                                                    for (int64_t o = 0; o < pp; ++o)
                                                      if (py[q + o] > 0.0f) dst[pa[q + o]] += gy[q + o];
                                                  }
                                              });
                  Grads result{r.dx, r.dw};
                  if (has_bias) result.push_back(r.db);
                  return result;
                });
}

}  // namespace mc
