// Node: one recorded op. Ops are written as a forward function that computes the result and
// hands record() a backward rule (a lambda) that maps output gradients to input gradients.
//
//   Var relu(const Var& x) {
//     Tensor y = ...forward...;
//     return record("relu", y, {x}, [saved = SavedTensor(y, "relu")](const Grads& gy, const Needs&) {
//       ...use saved.get()...; return Grads{gx};
//     });
//   }
//
// Tensors a backward rule needs are kept as SavedTensor, which remembers the tensor's version
// and refuses to hand it back if someone wrote into it in place after it was saved.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "matcomp/autograd/variable.h"

namespace mc {

using Grads = std::vector<Tensor>;   // one per input (or output); undefined = zero / not needed
using Needs = std::vector<bool>;     // which inputs want a gradient
using BackwardRule = std::function<Grads(const Grads& grad_outputs, const Needs& needs)>;

class SavedTensor {
 public:
  SavedTensor() = default;
  SavedTensor(Tensor t, const char* op);
  const Tensor& get() const;  // throws Error if the tensor was modified in place since saving

 private:
  Tensor tensor_;
  uint64_t version_ = 0;
  const char* op_ = "";
};

class Node {
 public:
  Node(const char* name, std::vector<Var> inputs, int num_outputs, BackwardRule rule);
  const char* name() const { return name_; }
  const std::vector<Var>& inputs() const { return inputs_; }
  int num_outputs() const { return num_outputs_; }
  bool released() const { return released_; }
  Grads apply(const Grads& grad_outputs);  // runs the rule once, then frees it and the inputs
  void release();

 private:
  const char* name_;
  std::vector<Var> inputs_;
  int num_outputs_;
  BackwardRule rule_;
  bool released_ = false;
};

// Records an op with one output. Records nothing (plain result) when grad mode is off or no
// input requires a gradient.
Var record(const char* name, Tensor output, std::vector<Var> inputs, BackwardRule rule);
// The same for ops with several outputs (e.g. an LSTM's outputs and final states).
std::vector<Var> record_multi(const char* name, std::vector<Tensor> outputs, std::vector<Var> inputs,
                              BackwardRule rule);

// Adds g into acc in place (acc gets its own copy of g on first use). Shapes must match.
// Used for leaf gradients, which optimizers and clipping later modify in place.
void accumulate(Tensor& acc, const Tensor& g);
// The same without copies: acc shares g on first use and becomes a fresh sum afterwards.
// Safe for the engine's intermediate gradients, because backward rules never write into the
// gradients they receive.
void accumulate_shared(Tensor& acc, const Tensor& g);

}  // namespace mc
