#include "matcomp/autograd/variable.h"

#include "matcomp/autograd/node.h"
#include "matcomp/core/error.h"

namespace mc {

namespace {
thread_local bool g_grad_enabled = true;
}

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

Var::Var(Tensor value, bool requires_grad, std::string name) : impl_(std::make_shared<VariableImpl>()) {
  impl_->value = std::move(value);
  impl_->requires_grad = requires_grad;
  impl_->name = std::move(name);
}

const Tensor& Var::value() const {
  MC_CHECK(impl_, Error, "value() of an undefined Var");
  return impl_->value;
}

Tensor& Var::value() {
  MC_CHECK(impl_, Error, "value() of an undefined Var");
  return impl_->value;
}

const std::string& Var::name() const {
  static const std::string empty;
  return impl_ ? impl_->name : empty;
}

bool Var::requires_grad() const { return impl_ && (impl_->requires_grad || impl_->grad_fn != nullptr); }

void Var::set_requires_grad(bool on) {
  MC_CHECK(is_leaf(), Error, "set_requires_grad on a non-leaf Var (" << name() << ")");
  impl_->requires_grad = on;
}

bool Var::is_leaf() const { return impl_ && impl_->grad_fn == nullptr; }

const Tensor& Var::grad() const {
  MC_CHECK(impl_, Error, "grad() of an undefined Var");
  return impl_->grad;
}

Tensor& Var::mutable_grad() {
  MC_CHECK(impl_, Error, "grad() of an undefined Var");
  return impl_->grad;
}

void Var::zero_grad() {
  if (impl_) impl_->grad = Tensor();
}

}  // namespace mc
