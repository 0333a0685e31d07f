#include "matcomp/layers/ptb_lstm.h"

#include "matcomp/autograd/ops.h"
#include "matcomp/core/error.h"
#include "matcomp/layers/init.h"

namespace mc {

PtbLstmConfig PtbLstmConfig::small() { return {}; }

PtbLstmConfig PtbLstmConfig::medium() {
  PtbLstmConfig c;
  c.hidden = 650;
  c.unroll = 35;
  c.dropout = 0.5f;
  c.init_scale = 0.05f;
  return c;
}

PtbLstm::PtbLstm(const PtbLstmConfig& config, Rng& rng) : config_(config) {
  const float s = config.init_scale;
  register_module("embedding", std::make_shared<Embedding>(config.vocab, config.hidden, s, rng));
  register_module("lstm", std::make_shared<LSTM>(config.hidden, config.hidden, config.layers, s, rng, 0.0f,
                                                 config.dropout, &rng));
  auto softmax = std::make_shared<Dense>(uniform_init({config.hidden, config.vocab}, s, rng));
  rng.fill_uniform(softmax->parameter("bias").value(), -s, s);
  register_module("softmax", softmax);
  if (config.dropout > 0.0f) register_module("dropout", std::make_shared<Dropout>(config.dropout, &rng));
}

Var PtbLstm::forward(const std::vector<int32_t>& ids, LstmState& state) {
  const int64_t B = config_.batch, n = static_cast<int64_t>(ids.size());
  MC_CHECK(B > 0 && n % B == 0 && n > 0, ShapeError,
           "PtbLstm: " << n << " ids do not form (T, " << B << ") time-major windows");
  const int64_t T = n / B, H = config_.hidden;
  auto drop = child<Dropout>("dropout");
  Var x = child<Embedding>("embedding")->forward(ids);  // (T*B, H)
  if (drop) x = drop->forward(x);
  Var h = child<LSTM>("lstm")->forward(reshape(x, {T, B, H}), state);  // (T, B, H)
  h = reshape(h, {T * B, H});
  if (drop) h = drop->forward(h);
  return child<Dense>("softmax")->forward(h);
}

}  // namespace mc
