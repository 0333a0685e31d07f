#include "matcomp/layers/modules/lstm.h"

#include <string>

#include "matcomp/core/error.h"
#include "matcomp/layers/modules/init.h"
#include "matcomp/layers/kernels/lstm_op.h"

namespace mc {

LstmState LstmState::detached() const {
  LstmState out;
  for (const Var& v : h) out.h.emplace_back(v.value());
  for (const Var& v : c) out.c.emplace_back(v.value());
  return out;
}

LstmLayer::LstmLayer(Tensor weight_init, float forget_bias, ParamGroup group) {
  MC_CHECK(weight_init.dim() == 2 && weight_init.size(1) % 4 == 0 && weight_init.size(0) > weight_init.size(1) / 4,
           ShapeError, "LstmLayer weight must be (input + hidden, 4 hidden), got " << to_string(weight_init.shape()));
  const int64_t hidden = weight_init.size(1) / 4;
  register_module("weight", std::make_shared<DenseWeight>(std::move(weight_init), group));
  Tensor bias = Tensor::zeros({4 * hidden});
  for (int64_t j = hidden; j < 2 * hidden; ++j) bias.data()[j] = forget_bias;
  register_parameter("bias", std::move(bias));
}

std::vector<Var> LstmLayer::forward(const Var& x, const Var& h0, const Var& c0) {
  return lstm_sequence(x, weight()->dense(), own_parameter("bias"), h0, c0);
}

LSTM::LSTM(int64_t input, int64_t hidden, int64_t layers, float init_scale, Rng& rng, float forget_bias,
           float dropout, Rng* dropout_rng)
    : layers_(layers) {
  MC_CHECK(input > 0 && hidden > 0 && layers > 0, ValueError,
           "LSTM needs positive sizes, got input " << input << " hidden " << hidden << " layers " << layers);
  for (int64_t l = 0; l < layers; ++l) {
    auto layer = std::make_shared<LstmLayer>(uniform_init({(l == 0 ? input : hidden) + hidden, 4 * hidden}, init_scale, rng));
    Tensor& b = layer->parameter("bias").value();
    rng.fill_uniform(b, -init_scale, init_scale);
    if (forget_bias != 0.0f)
      for (int64_t j = hidden; j < 2 * hidden; ++j) b.data()[j] = forget_bias;
    register_module("layer" + std::to_string(l), layer);
  }
  if (dropout > 0.0f) register_module("dropout", std::make_shared<Dropout>(dropout, dropout_rng));
}

std::shared_ptr<LstmLayer> LSTM::layer(int64_t l) const { return child<LstmLayer>("layer" + std::to_string(l)); }

Var LSTM::forward(const Var& x, LstmState& state) {
  MC_CHECK(x.value().dim() == 3, ShapeError, "LSTM expects (T, B, input), got " << to_string(x.shape()));
  const int64_t B = x.shape()[1];
  const size_t L = static_cast<size_t>(layers_);
  if (state.empty()) {
    for (int64_t l = 0; l < layers_; ++l) {
      const int64_t H = layer(l)->hidden_size();
      state.h.emplace_back(Tensor::zeros({B, H}));
      state.c.emplace_back(Tensor::zeros({B, H}));
    }
  }
  MC_CHECK(state.h.size() == L && state.c.size() == L, ValueError,
           "LSTM state has " << state.h.size() << " layers, the LSTM " << layers_);
  auto drop = child<Dropout>("dropout");
  Var h = x;
  LstmState next;
  for (int64_t l = 0; l < layers_; ++l) {
    if (l > 0 && drop) h = drop->forward(h);
    std::vector<Var> r = layer(l)->forward(h, state.h[static_cast<size_t>(l)], state.c[static_cast<size_t>(l)]);
    h = r[0];
    next.h.emplace_back(r[1].value());  // detached: the next window starts without history
    next.c.emplace_back(r[2].value());
  }
  state = std::move(next);
  return h;
}

}  // namespace mc
