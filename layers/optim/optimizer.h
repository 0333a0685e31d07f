// Optimizer: updates a Module's parameters in place from their gradients.
//
//   SGD opt(model, /*lr=*/1.0f);
//   loss.backward(); clip_grad_norm(model, 5.0f); opt.step(); opt.zero_grad();
//
// Every step walks the model's registry (named_parameters / named_parameter_groups): there is
// no cached list of Vars that a compression step could make stale. State (momentum, Adam's
// moments) is kept per dotted parameter name and slot, remembers which Var it was made for,
// and is dropped when that name disappears or comes to mean a different Var; this happens
// by itself at the first step after the model's generation() changes.
//
// Values are updated in place (mark_modified()): the storage may be shared with views held
// elsewhere, such as a compressed weight's factors.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "matcomp/layers/modules/module.h"

namespace mc {

class Optimizer {
 public:
  explicit Optimizer(Module& model);
  virtual ~Optimizer();
  virtual void step() = 0;
  void zero_grad();
  float learning_rate() const { return lr_; }
  void set_learning_rate(float lr);
  int64_t steps() const { return steps_; }
  void set_steps(int64_t steps);  // for checkpoint restore
  // Per parameter dotted name, per slot ("momentum", "m", "v", "step").
  std::map<std::string, std::map<std::string, Tensor>>& state() { return state_; }
  const std::map<std::string, std::map<std::string, Tensor>>& state() const { return state_; }
  // Drops state whose name is gone or now refers to another Var; adopts state loaded for a
  // name without a recorded owner (after a checkpoint restore).
  void sync_with_model();
  virtual nlohmann::json config() const;
  virtual std::string type() const = 0;
  Module& model() const { return model_; }

 protected:
  struct Param {
    std::string name;
    Var var;
    ParamGroup group;
  };
  // The parameters that have a gradient, in registry order; syncs first if the model changed.
  std::vector<Param> params_with_grad();
  // Slot `slot` of `name`, created as zeros shaped like `like` on first use.
  Tensor& slot(const std::string& name, const std::string& slot, const Tensor& like);
  void finish_step() { ++steps_; }

 private:
  Module& model_;
  float lr_ = 0.0f;
  int64_t steps_ = 0;
  uint64_t seen_generation_ = 0;
  std::map<std::string, std::map<std::string, Tensor>> state_;
  std::map<std::string, std::weak_ptr<VariableImpl>> owners_;
};

// Scales all gradients so that their global L2 norm is at most max_norm; returns the norm
// before clipping. Throws ValueError naming the first parameter with a non-finite gradient.
float clip_grad_norm(Module& model, float max_norm);

}  // namespace mc
