// ExponentialMovingAverage of a model's parameters (TF's tf.train.ExponentialMovingAverage
// with num_updates): each update() uses decay_t = min(decay, (1 + n) / (10 + n)), n the
// number of earlier updates, then shadow = decay_t * shadow + (1 - decay_t) * value.
//
//   ema.update();                  // after each optimizer step
//   ema.apply(); evaluate(); ema.restore();   // evaluate with the averaged weights
//
// Shadows are keyed by dotted parameter name and follow the registry like optimizer state:
// a name that disappears or comes to mean a different Var loses its shadow, which restarts
// from the current value.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "matcomp/layers/modules/module.h"

namespace mc {

class ExponentialMovingAverage {
 public:
  ExponentialMovingAverage(Module& model, float decay);
  void update();
  void apply();    // swaps the shadows into the parameters (in place), keeping a backup
  void restore();  // puts the backed-up training values back
  void sync_with_model();
  float decay() const { return decay_; }
  int64_t num_updates() const { return num_updates_; }
  void set_num_updates(int64_t n) { num_updates_ = n; }
  std::map<std::string, Tensor>& shadow() { return shadow_; }
  const std::map<std::string, Tensor>& shadow() const { return shadow_; }

 private:
  Module& model_;
  float decay_;
  int64_t num_updates_ = 0;
  uint64_t seen_generation_;
  std::map<std::string, Tensor> shadow_;
  std::map<std::string, std::weak_ptr<VariableImpl>> owners_;
  std::map<std::string, Tensor> backup_;
};

}  // namespace mc
