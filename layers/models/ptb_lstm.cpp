#include "matcomp/layers/models/ptb_lstm.h"

#include "matcomp/autograd/ops.h"
#include "matcomp/core/error.h"
#include "matcomp/layers/modules/init.h"

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

PtbLstm::PtbLstm(const PtbLstmConfig& config, std::shared_ptr<Rng> rng) : PtbLstm(config, *rng) {
  owned_rng_ = std::move(rng);
}

void to_json(nlohmann::json& j, const PtbLstmConfig& c) {
  j = {{"vocab", c.vocab},     {"hidden", c.hidden},   {"layers", c.layers},       {"unroll", c.unroll},
       {"batch", c.batch},     {"dropout", c.dropout}, {"init_scale", c.init_scale}};
}

void from_json(const nlohmann::json& j, PtbLstmConfig& c) {
  MC_CHECK(j.is_object(), ValueError, "PtbLstm config must be a JSON object, got " << j.dump());
  c.vocab = j.value("vocab", c.vocab);
  c.hidden = j.value("hidden", c.hidden);
  c.layers = j.value("layers", c.layers);
  c.unroll = j.value("unroll", c.unroll);
  c.batch = j.value("batch", c.batch);
  c.dropout = j.value("dropout", c.dropout);
  c.init_scale = j.value("init_scale", c.init_scale);
}

nlohmann::json PtbLstm::config() const { return config_; }

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
