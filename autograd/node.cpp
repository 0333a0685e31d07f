#include "matcomp/autograd/node.h"

#include "matcomp/core/error.h"

namespace mc {

SavedTensor::SavedTensor(Tensor t, const char* op) : tensor_(std::move(t)), version_(tensor_.version()), op_(op) {}

const Tensor& SavedTensor::get() const {
  MC_CHECK(tensor_.version() == version_, Error,
           "backward of '" << op_ << "' needs a tensor of shape " << to_string(tensor_.shape())
                           << " that was modified in place after the forward pass saved it (version "
                           << version_ << " -> " << tensor_.version()
                           << "); clone it before writing, or write after backward");
  return tensor_;
}

Node::Node(const char* name, std::vector<Var> inputs, int num_outputs, BackwardRule rule)
    : name_(name), inputs_(std::move(inputs)), num_outputs_(num_outputs), rule_(std::move(rule)) {}

Grads Node::apply(const Grads& grad_outputs) {
  MC_CHECK(!released_, Error,
           "backward through '" << name_ << "' a second time: the graph is freed after backward; "
                                   "run the forward pass again");
  Needs needs(inputs_.size());
  for (size_t i = 0; i < inputs_.size(); ++i) needs[i] = inputs_[i].requires_grad();
  Grads grads = rule_(grad_outputs, needs);
  MC_CHECK(grads.size() == inputs_.size(), Error,
           "backward of '" << name_ << "' returned " << grads.size() << " gradients for " << inputs_.size()
                           << " inputs");
  for (size_t i = 0; i < inputs_.size(); ++i) {
    if (!grads[i].defined() || !needs[i]) continue;
    MC_CHECK(grads[i].shape() == inputs_[i].shape(), ShapeError,
             "backward of '" << name_ << "' gave a gradient of shape " << to_string(grads[i].shape())
                             << " for input " << i << " of shape " << to_string(inputs_[i].shape()));
  }
  return grads;
}

void Node::release() {
  released_ = true;
  rule_ = nullptr;
  inputs_.clear();
}

namespace {
bool any_requires_grad(const std::vector<Var>& inputs) {
  for (const Var& v : inputs)
    if (v.requires_grad()) return true;
  return false;
}
}  // namespace

std::vector<Var> record_multi(const char* name, std::vector<Tensor> outputs, std::vector<Var> inputs,
                              BackwardRule rule) {
  std::vector<Var> results;
  results.reserve(outputs.size());
  if (!grad_enabled() || !any_requires_grad(inputs)) {
    for (Tensor& t : outputs) results.emplace_back(std::move(t));
    return results;
  }
  auto node = std::make_shared<Node>(name, std::move(inputs), static_cast<int>(outputs.size()), std::move(rule));
  for (size_t i = 0; i < outputs.size(); ++i) {
    auto impl = std::make_shared<VariableImpl>();
    impl->value = std::move(outputs[i]);
    impl->grad_fn = node;
    impl->output_index = static_cast<int>(i);
    results.emplace_back(std::move(impl));
  }
  return results;
}

Var record(const char* name, Tensor output, std::vector<Var> inputs, BackwardRule rule) {
  std::vector<Tensor> outs;
  outs.push_back(std::move(output));
  return record_multi(name, std::move(outs), std::move(inputs), std::move(rule))[0];
}

void accumulate(Tensor& acc, const Tensor& g) {
  if (!acc.defined()) {
    acc = g.clone();
    return;
  }
  MC_CHECK(acc.shape() == g.shape(), ShapeError,
           "gradient of shape " << to_string(g.shape()) << " added to one of shape " << to_string(acc.shape()));
  float* a = acc.data();
  const float* b = g.data();
  const int64_t n = acc.numel();
#pragma omp parallel for simd if (n > 65536)
  for (int64_t i = 0; i < n; ++i) a[i] += b[i];
  acc.mark_modified();
}

void accumulate_shared(Tensor& acc, const Tensor& g) {
  if (!acc.defined()) {
    acc = g;  // shared: backward rules never write into the gradients they are given
    return;
  }
  MC_CHECK(acc.shape() == g.shape(), ShapeError,
           "gradient of shape " << to_string(g.shape()) << " added to one of shape " << to_string(acc.shape()));
  Tensor sum = Tensor::empty(acc.shape());
  const float* a = acc.data();
  const float* b = g.data();
  float* s = sum.data();
  const int64_t n = acc.numel();
#pragma omp parallel for simd if (n > 65536)
  for (int64_t i = 0; i < n; ++i) s[i] = a[i] + b[i];
  acc = sum;
}

}  // namespace mc
