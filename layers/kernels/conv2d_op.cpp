// conv2d on the conv engine (conv2d_core.h): the epilogue adds the bias (and applies the
// fused ReLU) while scattering each chunk's (cout, B*P) output into NCHW; the backward
// prologue gathers dy back into (cout, B*P), masked by y > 0 when the ReLU is fused.
#include "matcomp/layers/kernels/conv2d_op.h"

#include <omp.h>

#include <algorithm>

#include "matcomp/autograd/node.h"
#include "matcomp/layers/kernels/conv2d_core.h"

namespace mc {

Var conv2d(const Var& x, const Var& w, const Var& bias, const Conv2dSpec& spec) {
  const bool has_bias = bias.defined();
  const ConvProblem s = conv_problem(x.value(), w.value(), has_bias ? &bias.value() : nullptr, spec);
  const int64_t cout = s.cout, p = s.p;
  const bool relu = spec.relu;

  Tensor y = Tensor::empty({s.n, cout, s.g.out_h, s.g.out_w});
  {
    const float* pb = has_bias ? bias.value().data() : nullptr;
    float* py = y.data();
    conv_forward(x.value().data(), w.value().data(), s, [&](int64_t n0, int64_t nb, float* out, int64_t ld) {
      // y[n0 + b, co, :] = f(out[co, b*P : b*P + P] + bias[co])
#pragma omp parallel for if (!omp_in_parallel()) collapse(2) schedule(static)
      for (int64_t b = 0; b < nb; ++b)
        for (int64_t co = 0; co < cout; ++co) {
          const float* src = out + co * ld + b * p;
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
    });
  }

  std::vector<Var> inputs{x, w};
  if (has_bias) inputs.push_back(bias);
  SavedTensor saved_y = relu ? SavedTensor(y, "conv2d") : SavedTensor();
  return record("conv2d", y, std::move(inputs),
                [sx = SavedTensor(x.value(), "conv2d"), sw = SavedTensor(w.value(), "conv2d"), saved_y, s, relu,
                 has_bias](const Grads& grads, const Needs& need) {
                  const int64_t cout = s.cout, p = s.p;
                  const float* gy = grads[0].data();  // (N, cout, OH, OW)
                  const float* py = relu ? saved_y.get().data() : nullptr;
                  ConvGrads r = conv_backward(
                      sx.get().data(), sw.get().data(), s, need[0], need[1], has_bias && need[2],
                      [&](int64_t n0, int64_t nb, float* g, int64_t ld) {
                        // G (cout, nb*P) from dy (nb, cout, P)
#pragma omp parallel for if (!omp_in_parallel()) collapse(2) schedule(static)
                        for (int64_t co = 0; co < cout; ++co)
                          for (int64_t b = 0; b < nb; ++b) {
                            const int64_t off = ((n0 + b) * cout + co) * p;
                            float* dst = g + co * ld + b * p;
                            if (relu) {
#pragma omp simd
                              for (int64_t i = 0; i < p; ++i) dst[i] = py[off + i] > 0.0f ? gy[off + i] : 0.0f;
                            } else {
                              std::copy(gy + off, gy + off + p, dst);
                            }
                          }
                      });
                  Grads result{r.dx, r.dw};
                  if (has_bias) result.push_back(r.db);
                  return result;
                });
}

}  // namespace mc
