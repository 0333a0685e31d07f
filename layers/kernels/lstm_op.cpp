// Fused LSTM window: forward and backward through time side by side (see lstm_op.h).
#include "matcomp/layers/kernels/lstm_op.h"

#include <cstring>

#include "matcomp/autograd/node.h"
#include "matcomp/autograd/ops.h"
#include "matcomp/core/blas.h"
#include "matcomp/core/error.h"
#include "matcomp/layers/kernels/affine_op.h"
#include "matcomp/layers/kernels/fast_math.h"
#include "matcomp/layers/kernels/layer_gemm.h"

namespace mc {

namespace {

struct Dims {
  int64_t T, B, in, H;
};

Dims check_dims(const Var& x, const Var& w, const Var& b, const Var& h0, const Var& c0) {
  MC_CHECK(x.value().dim() == 3, ShapeError, "lstm: input must be (T, B, in), got " << to_string(x.shape()));
  const Dims d{x.shape()[0], x.shape()[1], x.shape()[2], w.value().dim() == 2 ? w.shape()[1] / 4 : 0};
  MC_CHECK(w.value().dim() == 2 && w.shape()[1] % 4 == 0 && d.H > 0 && w.shape()[0] == d.in + d.H, ShapeError,
           "lstm: weight must be (in + hidden, 4 hidden) with in = " << d.in << ", got " << to_string(w.shape()));
  MC_CHECK(b.shape() == Shape{4 * d.H}, ShapeError,
           "lstm: bias must be (" << 4 * d.H << "), got " << to_string(b.shape()));
  MC_CHECK(h0.shape() == (Shape{d.B, d.H}) && c0.shape() == (Shape{d.B, d.H}), ShapeError,
           "lstm: initial state must be (" << d.B << ", " << d.H << "), got h " << to_string(h0.shape()) << " c "
                                           << to_string(c0.shape()));
  return d;
}

// One step's cell update for row block [r0, r1). g (B, 4H) holds the pre-activations on entry
// and the activations i, f, g, o on exit; c_prev, c, tc, h are (B, H).
void cell_forward(float* g, const float* c_prev, float* c, float* tc, float* h, int64_t B, int64_t H) {
#pragma omp parallel for if (B * H >= 32768)
  for (int64_t r = 0; r < B; ++r) {
    float* gi = g + r * 4 * H;
    float* gf = gi + H;
    float* gg = gi + 2 * H;
    float* go = gi + 3 * H;
    const float* cp = c_prev + r * H;
    float* cr = c + r * H;
    float* tr = tc + r * H;
    float* hr = h + r * H;
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      const float i = fast::sigmoid(gi[j]), f = fast::sigmoid(gf[j]), gc = fast::tanh(gg[j]),
                  o = fast::sigmoid(go[j]);
      gi[j] = i;
      gf[j] = f;
      gg[j] = gc;
      go[j] = o;
      const float cn = f * cp[j] + i * gc;
      const float t = fast::tanh(cn);
      cr[j] = cn;
      tr[j] = t;
      hr[j] = o * t;
    }
  }
}

// One step backward. act (B, 4H) activations; dh (B, H) is d loss / d h_t (already including
// the output gradient), dc (B, H) d loss / d c_t from later steps: on exit dc holds d / d c_{t-1}.
// dg (B, 4H) receives d loss / d pre-activations.
void cell_backward(const float* act, const float* c_prev, const float* tc, const float* dh, float* dc, float* dg,
                   int64_t B, int64_t H) {
#pragma omp parallel for if (B * H >= 32768)
  for (int64_t r = 0; r < B; ++r) {
    const float* ai = act + r * 4 * H;
    float* di = dg + r * 4 * H;
    const float* cp = c_prev + r * H;
    const float* tr = tc + r * H;
    const float* dhr = dh + r * H;
    float* dcr = dc + r * H;
#pragma omp simd
    for (int64_t j = 0; j < H; ++j) {
      const float i = ai[j], f = ai[H + j], gc = ai[2 * H + j], o = ai[3 * H + j], t = tr[j];
      const float dct = dcr[j] + dhr[j] * o * (1.0f - t * t);
      di[j] = dct * gc * i * (1.0f - i);
      di[H + j] = dct * cp[j] * f * (1.0f - f);
      di[2 * H + j] = dct * i * (1.0f - gc * gc);
      di[3 * H + j] = dhr[j] * t * o * (1.0f - o);
      dcr[j] = dct * f;
    }
  }
}

}  // namespace

std::vector<Var> lstm_sequence(const Var& x, const Var& w, const Var& b, const Var& h0, const Var& c0) {
  const auto [T, B, in, H] = check_dims(x, w, b, h0, c0);
  const int64_t G4 = 4 * H;
  const float* W = w.value().data();
  const float* Wh = W + in * G4;  // recurrent rows of W

  // The layers' product (layer_gemm.h) for every product here, forward and backward alike.
  const bool builtin = layer_gemm() == LayerGemm::Builtin;

  // act (T, B, 4H): pre-activations, then activations. x Wx + b for all T steps in one product,
  // the dense layer's (affine_forward): the same sums, in the same order, on either product.
  Tensor act = Tensor::empty({T, B, G4});
  Tensor act_rows = act.view({T * B, G4});
  if (in > 0)
    affine_forward(x.value().view({T * B, in}), w.value().rows(0, in), &b.value(), act_rows);
  else  // no input features: the pre-activations start from the bias alone
    fill_rows(b.value(), act_rows);

  // hs, cs (T + 1, B, H): row block 0 is the initial state, block t + 1 the state after step t.
  Tensor hs = Tensor::empty({T + 1, B, H});
  Tensor cs = Tensor::empty({T + 1, B, H});
  Tensor tcs = Tensor::empty({T, B, H});  // tanh(c_t), kept for backward
  std::memcpy(hs.data(), h0.value().data(), sizeof(float) * B * H);
  std::memcpy(cs.data(), c0.value().data(), sizeof(float) * B * H);
  Tensor recurrent = builtin ? Tensor::empty({B, G4}) : Tensor();  // the builtin product overwrites
  for (int64_t t = 0; t < T; ++t) {
    float* g = act.data() + t * B * G4;
    // g (B, 4H) += h_{t-1} (B, H) Wh (H, 4H)
    if (builtin) {
      builtin_gemm(B, G4, H, hs.data() + t * B * H, H, 1, Wh, G4, recurrent.data(), G4, 1);
      const float* r = recurrent.data();
#pragma omp simd
      for (int64_t k = 0; k < B * G4; ++k) g[k] += r[k];
    } else {
      sgemm_raw(Trans::No, Trans::No, B, G4, H, 1.0f, hs.data() + t * B * H, H, Wh, G4, 1.0f, g, G4);
    }
    cell_forward(g, cs.data() + t * B * H, cs.data() + (t + 1) * B * H, tcs.data() + t * B * H,
                 hs.data() + (t + 1) * B * H, B, H);
  }

  // The outputs are views of hs / cs: no copies. SavedTensor notices if a caller writes into them.
  std::vector<Tensor> outputs{hs.rows(1, T + 1), hs.rows(T, T + 1).view({B, H}), cs.rows(T, T + 1).view({B, H})};
  // T = T...: init-captures, since clang 14 (the fuzz build) cannot capture structured bindings.
  auto rule = [sx = SavedTensor(x.value(), "lstm"), sw = SavedTensor(w.value(), "lstm"),
               sact = SavedTensor(act, "lstm"), shs = SavedTensor(hs, "lstm"), scs = SavedTensor(cs, "lstm"),
               stc = SavedTensor(tcs, "lstm"),
               T = T, B = B, in = in, H = H, G4, builtin](const Grads& g, const Needs& need) {
    const float* W = sw.get().data();
    const float* Wh = W + in * G4;
    // The builtin product reads its right operand row-major, so W^T (4H, in + H) is formed once
    // (at most a few hundred KB) and serves dx (its first in columns) and every step's dh (the rest).
    const Tensor wt = builtin ? transpose_2d(sw.get()) : Tensor();
    const int64_t ldwt = in + H;
    const float* act = sact.get().data();
    const float* hs = shs.get().data();
    const float* cs = scs.get().data();
    const float* tcs = stc.get().data();
    const Tensor& gout = g[0];  // (T, B, H) or undefined
    Tensor dh = g[1].defined() ? g[1].clone() : Tensor::zeros({B, H});
    Tensor dc = g[2].defined() ? g[2].clone() : Tensor::zeros({B, H});
    Tensor dg = Tensor::empty({T, B, G4});  // d loss / d pre-activations
    Tensor dh_step = Tensor::empty({B, H});
    for (int64_t t = T - 1; t >= 0; --t) {
      // d loss / d h_t = from step t + 1 (dh) + from the output at t
      float* dht = dh.data();
      if (gout.defined()) {
        const float* go = gout.data() + t * B * H;
#pragma omp simd
        for (int64_t k = 0; k < B * H; ++k) dht[k] += go[k];
      }
      float* dgt = dg.data() + t * B * G4;
      cell_backward(act + t * B * G4, cs + t * B * H, tcs + t * B * H, dht, dc.data(), dgt, B, H);
      if (t > 0 || need[3]) {
        // dh_{t-1} (B, H) = dg_t (B, 4H) Wh^T (4H, H)
        if (builtin)
          builtin_gemm(B, H, G4, dgt, G4, 1, wt.data() + in, ldwt, dh_step.data(), H, 1);
        else
          sgemm_raw(Trans::No, Trans::Yes, B, H, G4, 1.0f, dgt, G4, Wh, G4, 0.0f, dh_step.data(), H);
        std::swap(dh, dh_step);
      }
    }
    Grads grads(5);
    const int64_t n = T * B;
    if (need[0]) {
      // dx (TB, in) = dg (TB, 4H) Wx^T (4H, in)
      grads[0] = Tensor::empty({T, B, in});
      if (in > 0 && builtin)
        builtin_gemm(n, in, G4, dg.data(), G4, 1, wt.data(), ldwt, grads[0].data(), in, 1);
      else if (in > 0)
        sgemm_raw(Trans::No, Trans::Yes, n, in, G4, 1.0f, dg.data(), G4, W, G4, 0.0f, grads[0].data(), in);
    }
    if (need[1]) {
      // dWx (in, 4H) = x^T (in, TB) dg (TB, 4H);  dWh (H, 4H) = h_{t-1}^T (H, TB) dg
      Tensor dw = Tensor::empty({in + H, G4});
      if (builtin) {  // x and h read as A^T through their strides
        if (in > 0) builtin_gemm_at_b(n, in, G4, sx.get().data(), dg.data(), dw.data());
        builtin_gemm_at_b(n, H, G4, hs, dg.data(), dw.data() + in * G4);
      } else {
        if (in > 0)
          sgemm_raw(Trans::Yes, Trans::No, in, G4, n, 1.0f, sx.get().data(), in, dg.data(), G4, 0.0f, dw.data(), G4);
        sgemm_raw(Trans::Yes, Trans::No, H, G4, n, 1.0f, hs, H, dg.data(), G4, 0.0f, dw.data() + in * G4, G4);
      }
      grads[1] = std::move(dw);
    }
    if (need[2]) grads[2] = column_sums(dg.view({n, G4}));  // db (4H) from dg (TB, 4H)
    if (need[3]) grads[3] = dh;
    if (need[4]) grads[4] = dc;
    return grads;
  };
  return record_multi("lstm", std::move(outputs), {x, w, b, h0, c0}, std::move(rule));
}

std::vector<Var> lstm_sequence_composed(const Var& x, const Var& w, const Var& b, const Var& h0, const Var& c0) {
  const auto [T, B, in, H] = check_dims(x, w, b, h0, c0);
  Var h = h0, c = c0;
  std::vector<Var> outs;
  for (int64_t t = 0; t < T; ++t) {
    Var xt = reshape(slice(x, 0, t, t + 1), {B, in});
    Var gates = add(matmul(concat({xt, h}, 1), w), b);  // (B, 4H)
    Var i = sigmoid(slice(gates, 1, 0, H));
    Var f = sigmoid(slice(gates, 1, H, 2 * H));
    Var g = tanh(slice(gates, 1, 2 * H, 3 * H));
    Var o = sigmoid(slice(gates, 1, 3 * H, 4 * H));
    c = add(mul(f, c), mul(i, g));
    h = mul(o, tanh(c));
    outs.push_back(reshape(h, {1, B, H}));
  }
  return {concat(outs, 0), h, c};
}

}  // namespace mc
