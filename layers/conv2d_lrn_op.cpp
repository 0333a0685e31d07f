// lrn_conv2d on the conv engine's input hooks (conv2d_core.h) and the per-image LRN kernels
// (lrn_kernels.h):
//   input(n0, nb):  block (nb, C, H, W) = lrn(x[n0 : n0 + nb])       (OpenMP over images)
//   dx(n0, nb, d):  dx[n0 + b] = lrn backward of d[b] at x[n0 + b]    (OpenMP over images)
#include "layers/conv2d_lrn_op.h"

#include "autograd/node.h"
#include "core/error.h"
#include "layers/conv2d_core.h"
#include "layers/lrn_kernels.h"

namespace mc {

namespace {

// The normalised chunk, per thread (the hooks run on the op's calling thread).
float* lrn_block(int64_t floats) {
  thread_local Tensor block;
  if (!block.defined() || block.numel() < floats) block = Tensor::empty({floats});
  return block.data();
}

// Hook: the chunk's normalised images.
ConvInputHooks::Input normalised_input(const float* x, const LrnShape& sh, const LrnSpec& spec, int64_t chunk) {
  const int64_t cp = sh.c * sh.p;
  float* block = lrn_block(chunk * cp);
  return [x, sh, spec, cp, block](int64_t n0, int64_t nb) -> const float* {
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < nb; ++b) lrn_forward_image(x + (n0 + b) * cp, block + b * cp, sh, spec, lrn_scratch(2 * cp));
    return block;
  };
}

}  // namespace

Var lrn_conv2d(const Var& x, const LrnSpec& lrn, const Var& w, const Var& bias, const Conv2dSpec& conv) {
  MC_CHECK(lrn.depth_radius >= 0 && lrn.bias > 0.0f && lrn.alpha >= 0.0f, ValueError,
           "lrn_conv2d: depth_radius " << lrn.depth_radius << ", bias " << lrn.bias << ", alpha " << lrn.alpha
                                       << " (need radius >= 0, bias > 0, alpha >= 0)");
  const bool has_bias = bias.defined();
  const ConvProblem s = conv_problem(x.value(), w.value(), has_bias ? &bias.value() : nullptr, conv);
  const LrnShape sh = lrn_shape(x.value());
  const bool relu = conv.relu;

  Tensor y = Tensor::empty({s.n, s.cout, s.g.out_h, s.g.out_w});
  {
    const float* pb = has_bias ? bias.value().data() : nullptr;
    float* py = y.data();
    ConvInputHooks hooks;
    hooks.input = normalised_input(x.value().data(), sh, lrn, s.chunk);
    conv_forward(nullptr, w.value().data(), s,
                 [&](int64_t n0, int64_t nb, float* out, int64_t ld) { conv_scatter_bias_act(s, n0, nb, out, ld, pb, relu, py); },
                 hooks);
  }

  std::vector<Var> inputs{x, w};
  if (has_bias) inputs.push_back(bias);
  SavedTensor saved_y = relu ? SavedTensor(y, "lrn_conv2d") : SavedTensor();
  return record(
      "lrn_conv2d", y, std::move(inputs),
      [sx = SavedTensor(x.value(), "lrn_conv2d"), sw = SavedTensor(w.value(), "lrn_conv2d"), saved_y, s, sh, lrn, relu,
       has_bias](const Grads& grads, const Needs& need) {
        const float* gy = grads[0].data();  // (N, cout, OH, OW)
        const float* py = relu ? saved_y.get().data() : nullptr;
        const float* px = sx.get().data();
        const int64_t cp = sh.c * sh.p;
        Tensor dx;
        ConvInputHooks hooks;
        hooks.input = normalised_input(px, sh, lrn, s.chunk);
        if (need[0]) {
          dx = Tensor::empty(sx.get().shape());
          float* pdx = dx.data();
          // By value: pdx is local to this block, the hook runs later inside conv_backward.
          hooks.dx = [px, pdx, cp, sh, lrn](int64_t n0, int64_t nb, const float* d) {
#pragma omp parallel for schedule(static)
            for (int64_t b = 0; b < nb; ++b)
              lrn_backward_image(px + (n0 + b) * cp, d + b * cp, pdx + (n0 + b) * cp, sh, lrn, lrn_scratch(3 * cp));
          };
        }
        ConvGrads r = conv_backward(
            nullptr, sw.get().data(), s, need[0], need[1], has_bias && need[2],
            [&](int64_t n0, int64_t nb, float* g, int64_t ld) { conv_gather_grad(s, n0, nb, gy, py, g, ld); }, hooks);
        Grads result{dx, r.dw};
        if (has_bias) result.push_back(r.db);
        return result;
      });
}

}  // namespace mc
