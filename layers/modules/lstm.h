// LSTM: a stack of LSTM layers over a time-major window, with the state carried across
// windows (truncated BPTT).
//
//   LSTM lstm(200, 200, 2, /*init_scale=*/0.1f, rng);
//   LstmState state;                       // empty: zeros at the first window
//   Var out = lstm.forward(x, state);      // x (T, B, 200) -> (T, B, 200); state updated
//
// Layer l is child "layer<l>" (LstmLayer) with its weight seam "weight" of shape
// (input + hidden, 4 hidden) and parameter "bias" (4 hidden): names like
// "layer0.weight.A", "layer0.bias". Gate order i, f, g, o (see lstm_op.h). Each layer runs
// the whole window as one fused autograd op.
#pragma once

#include <vector>

#include "matcomp/core/rng.h"
#include "matcomp/layers/modules/dropout.h"
#include "matcomp/layers/modules/module.h"
#include "matcomp/layers/modules/weight.h"

namespace mc {

// Per-layer hidden and cell state, each (B, hidden). Empty vectors mean zeros.
struct LstmState {
  std::vector<Var> h, c;
  bool empty() const { return h.empty(); }
  // Fresh Vars without history sharing the values: the next window's initial state.
  LstmState detached() const;
};

class LstmLayer : public Module {
 public:
  // weight_init (input + hidden, 4 hidden); bias 0 except the forget block at forget_bias.
  LstmLayer(Tensor weight_init, float forget_bias = 0.0f, ParamGroup group = {});
  std::string type() const override { return "LstmLayer"; }
  std::shared_ptr<Weight> weight() const { return child<Weight>("weight"); }
  int64_t hidden_size() const { return weight()->cols() / 4; }
  int64_t input_size() const { return weight()->rows() - hidden_size(); }
  // x (T, B, in), h0 / c0 (B, hidden) -> {outputs (T, B, hidden), final h, final c}
  std::vector<Var> forward(const Var& x, const Var& h0, const Var& c0);
};

class LSTM : public Module {
 public:
  // Weights and biases U(-init_scale, init_scale) from rng, then the forget-gate block of
  // each bias set to forget_bias when it is non-zero (TF's PTB model uses 0). dropout > 0
  // adds child "dropout" applied between layers, drawing its masks from dropout_rng.
  LSTM(int64_t input, int64_t hidden, int64_t layers, float init_scale, Rng& rng, float forget_bias = 0.0f,
       float dropout = 0.0f, Rng* dropout_rng = nullptr);
  std::string type() const override { return "LSTM"; }
  int64_t num_layers() const { return layers_; }
  std::shared_ptr<LstmLayer> layer(int64_t l) const;
  // x (T, B, input) -> (T, B, hidden). state: in = initial (empty = zeros), out = the final
  // state, detached, ready to be passed to the next window.
  Var forward(const Var& x, LstmState& state);

 private:
  int64_t layers_;
};

}  // namespace mc
