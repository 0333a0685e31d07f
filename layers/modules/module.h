// Module: a named registry of parameters, buffers and child modules, PyTorch-style.
//
//   class Mlp : public Module {
//    public:
//     Mlp() { register_module("fc1", std::make_shared<Dense>(784, 100)); ... }
//   };
//   for (auto& [name, p] : model.named_parameters()) ...   // "fc1.weight.A", "fc1.bias", ...
//
// Everything that changes the model's structure goes through this registry: replacing a
// child (compression swaps a layer's weight seam for a factored one), removing or adding a
// parameter. Optimizers, checkpoints and reports read the registry, never cached pointers,
// and the registry's generation() tells them when it changed.
//
// The registry holds all of a module's state: float parameters (trained) and buffers (saved,
// not trained), typed states (NpyArray: integer codes, masks, seeds) and, through config(),
// what a builder needs to rebuild the module's structure (module_factory.h). A checkpoint is
// a dump of it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "matcomp/autograd/variable.h"
#include "matcomp/core/npy.h"

namespace mc {

// Which optimizer group a parameter belongs to (e.g. weight decay only on dense kernels).
struct ParamGroup {
  float weight_decay = 0.0f;
  float lr_scale = 1.0f;
};

struct ParameterEntry {
  Var var;
  ParamGroup group;
};

class Module {
 public:
  virtual ~Module() = default;
  virtual std::string type() const = 0;
  // What module_factory's builder for type() needs to rebuild this module's structure
  // (shapes, settings, phase; no values). Default: an empty object.
  virtual nlohmann::json config() const;
  // Called once a checkpoint (or an export loader) has put values into this module's own
  // parameters, buffers and states, so a module that derives something from them (a
  // compressed weight rebuilding its matrix from codes) can do so. Default: nothing.
  virtual void on_values_loaded() {}

  // Registration, for use by a module's own constructor (or by the compression scheduler).
  Var& register_parameter(const std::string& name, Tensor init, ParamGroup group = {});
  // Registers an existing Var (keeps its identity: optimizer state keyed to it carries over).
  Var& register_parameter(const std::string& name, Var existing, ParamGroup group = {});
  void register_buffer(const std::string& name, Tensor value);
  // Typed, non-float state (codes, masks, seeds); replaces an existing entry of that name.
  void register_state(const std::string& name, NpyArray value);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> child) {
    add_child(name, child);
    return child;
  }

  // Dotted-name views over the whole tree, in registration order.
  std::vector<std::pair<std::string, Var>> named_parameters() const;
  std::vector<std::pair<std::string, ParamGroup>> named_parameter_groups() const;
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  std::vector<std::pair<std::string, NpyArray>> named_states() const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_modules() const;  // children, recursive

  // Lookups by dotted name ("fc1.weight.A"); throw Error naming what exists when absent.
  Var& parameter(const std::string& dotted);
  Tensor& buffer(const std::string& dotted);
  std::shared_ptr<Module> module(const std::string& dotted) const;
  const NpyArray& state(const std::string& dotted) const;
  bool has_parameter(const std::string& dotted) const;
  bool has_module(const std::string& dotted) const;

  // Structural changes through the registry. Each bumps the root's generation.
  void replace_module(const std::string& dotted, std::shared_ptr<Module> replacement);
  // Adds a child under an existing module ("a.b.new"), or removes one with its subtree.
  void add_module(const std::string& dotted, std::shared_ptr<Module> child);
  void remove_module(const std::string& dotted);
  // Replaces the value of an existing state (a checkpoint loading); Error when absent.
  void set_state(const std::string& dotted, NpyArray value);
  void remove_parameter(const std::string& dotted);
  void set_group(const std::string& dotted, ParamGroup group);

  // Increases whenever the structure below this module changes.
  uint64_t generation() const;

  void train(bool on = true);  // propagates to children
  bool is_training() const { return training_; }
  void zero_grad();
  int64_t parameter_count() const;

 protected:
  // Direct (non-dotted) access for a module's own code: its forward reads its children
  // through the registry, so a replaced child takes effect immediately.
  template <typename M>
  std::shared_ptr<M> child(const std::string& name) const {
    return std::dynamic_pointer_cast<M>(find_child(name));
  }
  Var& own_parameter(const std::string& name);
  Tensor& own_buffer(const std::string& name);

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> child);
  std::shared_ptr<Module> find_child(const std::string& name) const;
  Module* owner_of(const std::string& dotted, std::string& leaf);
  const Module* owner_of(const std::string& dotted, std::string& leaf) const;
  void bump();

  std::vector<std::pair<std::string, ParameterEntry>> parameters_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, NpyArray>> states_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  Module* parent_ = nullptr;
  uint64_t generation_ = 0;
  bool training_ = true;
};

}  // namespace mc
