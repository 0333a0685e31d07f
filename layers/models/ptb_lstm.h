// The reference PTB language model (Zaremba et al. 2014, TensorFlow's ptb_word_lm):
// embedding -> dropout -> 2-layer LSTM (dropout between layers) -> dropout -> softmax layer.
//
//   Rng rng(1);
//   PtbLstm model(PtbLstmConfig::small(), rng);   // rng also draws the dropout masks
//   LstmState state;
//   Var logits = model.forward(ids, state);       // ids time-major (T, B) -> (T*B, vocab)
//   Var loss = softmax_cross_entropy(logits, targets);
//
// Children: "embedding" (Embedding), "lstm" (LSTM), "softmax" (Dense hidden -> vocab), so
// parameters are "embedding.weight.A", "lstm.layer0.weight.A", "lstm.layer0.bias", ...,
// "softmax.weight.A", "softmax.bias".
#pragma once

#include <cstdint>
#include <memory>

#include <nlohmann/json.hpp>
#include <vector>

#include "matcomp/core/rng.h"
#include "matcomp/layers/modules/dense.h"
#include "matcomp/layers/modules/dropout.h"
#include "matcomp/layers/modules/embedding.h"
#include "matcomp/layers/modules/lstm.h"
#include "matcomp/layers/modules/module.h"

namespace mc {

struct PtbLstmConfig {
  int64_t vocab = 10000, hidden = 200, layers = 2, unroll = 20, batch = 20;
  float dropout = 0;
  float init_scale = 0.1f;
  static PtbLstmConfig small();
  static PtbLstmConfig medium();  // hidden 650, unroll 35, dropout 0.5, init 0.05
};
void to_json(nlohmann::json& j, const PtbLstmConfig& c);
void from_json(const nlohmann::json& j, PtbLstmConfig& c);  // absent keys keep their defaults

class PtbLstm : public Module {
 public:
  // All parameters U(-init_scale, init_scale) from rng; rng must outlive the model when
  // dropout > 0 (it draws the masks, so checkpointing rng restores them).
  PtbLstm(const PtbLstmConfig& config, Rng& rng);
  std::string type() const override { return "PtbLstm"; }
  // The same, owning its Rng (seeded by `seed`): what module_factory builds from a config.
  PtbLstm(const PtbLstmConfig& config, std::shared_ptr<Rng> rng);
  const PtbLstmConfig& architecture() const { return config_; }
  nlohmann::json config() const override;  // the architecture (module_factory.h builds it back)
  // ids time-major (T, B) flattened, T * B entries with B = config.batch -> logits (T*B, vocab).
  // state: the previous window's final state (empty = zeros); replaced by this window's, detached.
  Var forward(const std::vector<int32_t>& ids, LstmState& state);

 private:
  PtbLstmConfig config_;
  std::shared_ptr<Rng> owned_rng_;  // only when built without a caller's Rng
};

}  // namespace mc
