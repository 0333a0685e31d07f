// Var: a tensor that remembers how it was made, so gradients can flow back to it.
//
//   Var w(Tensor::zeros({4, 3}), /*requires_grad=*/true, "w");
//   Var loss = mean(relu(matmul(x, w)));
//   loss.backward();          // w.grad() now holds d loss / d w (gradients accumulate)
//
// Leaves (parameters, inputs) hold their gradient; results of ops hold the recorded Node
// that produced them. The graph is freed as backward runs over it.
#pragma once

#include <memory>
#include <string>

#include "matcomp/core/tensor.h"

namespace mc {

class Node;

struct VariableImpl {
  Tensor value;
  Tensor grad;                     // accumulated gradient of a leaf (undefined until set)
  bool requires_grad = false;
  std::shared_ptr<Node> grad_fn;   // the op that made this value (null for leaves)
  int output_index = 0;            // which output of grad_fn this is
  std::string name;
};

class Var {
 public:
  Var() = default;
  explicit Var(Tensor value, bool requires_grad = false, std::string name = "");

  bool defined() const { return impl_ != nullptr; }
  const Tensor& value() const;
  Tensor& value();
  const Shape& shape() const { return value().shape(); }
  int64_t numel() const { return value().numel(); }
  const std::string& name() const;

  bool requires_grad() const;   // true for a leaf that wants a gradient or any op result on its path
  void set_requires_grad(bool on);
  bool is_leaf() const;
  const Tensor& grad() const;   // undefined if no gradient has reached this leaf
  Tensor& mutable_grad();       // for optimizers and gradient clipping
  void zero_grad();             // drops the gradient (next backward writes it fresh)

  // Runs backward from this value. A scalar needs no seed; otherwise give d out / d this.
  void backward() const;
  void backward(const Tensor& seed) const;

  const std::shared_ptr<VariableImpl>& impl() const { return impl_; }
  explicit Var(std::shared_ptr<VariableImpl> impl) : impl_(std::move(impl)) {}

 private:
  std::shared_ptr<VariableImpl> impl_;
};

// Inference mode: inside a NoGradGuard's scope ops record nothing.
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};
bool grad_enabled();

}  // namespace mc
