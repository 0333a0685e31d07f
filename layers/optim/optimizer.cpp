#include "matcomp/layers/optim/optimizer.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "matcomp/core/error.h"

namespace mc {

Optimizer::Optimizer(Module& model) : model_(model), seen_generation_(model.generation()) {}

Optimizer::~Optimizer() = default;

void Optimizer::zero_grad() { model_.zero_grad(); }

void Optimizer::set_learning_rate(float lr) {
  MC_CHECK(std::isfinite(lr) && lr >= 0.0f, ValueError, type() << ": learning rate must be finite and >= 0, got " << lr);
  lr_ = lr;
}

void Optimizer::set_steps(int64_t steps) {
  MC_CHECK(steps >= 0, ValueError, "optimizer step count must be >= 0, got " << steps);
  steps_ = steps;
}

void Optimizer::sync_with_model() {
  std::map<std::string, std::shared_ptr<VariableImpl>> current;
  for (const auto& [name, var] : model_.named_parameters()) current.emplace(name, var.impl());
  for (auto it = state_.begin(); it != state_.end();) {
    auto cur = current.find(it->first);
    auto owner = owners_.find(it->first);
    const bool gone = cur == current.end();
    const bool replaced = !gone && owner != owners_.end() && owner->second.lock() != cur->second;
    if (gone || replaced) {
      if (owner != owners_.end()) owners_.erase(owner);
      it = state_.erase(it);
      continue;
    }
    owners_[it->first] = cur->second;  // adopt (no-op when already the owner)
    ++it;
  }
  for (auto it = owners_.begin(); it != owners_.end();)
    it = state_.count(it->first) ? std::next(it) : owners_.erase(it);
  seen_generation_ = model_.generation();
}

std::vector<Optimizer::Param> Optimizer::params_with_grad() {
  if (model_.generation() != seen_generation_) sync_with_model();
  const auto params = model_.named_parameters();
  const auto groups = model_.named_parameter_groups();  // same order as named_parameters()
  std::vector<Param> out;
  for (size_t i = 0; i < params.size(); ++i) {
    const Var& v = params[i].second;
    if (!v.grad().defined()) continue;
    out.push_back({params[i].first, v, groups[i].second});
  }
  return out;
}

Tensor& Optimizer::slot(const std::string& name, const std::string& slot_name, const Tensor& like) {
  auto& slots = state_[name];
  auto it = slots.find(slot_name);
  if (it == slots.end()) {
    it = slots.emplace(slot_name, Tensor::zeros(like.shape())).first;
    owners_[name] = model_.parameter(name).impl();
  }
  MC_CHECK(it->second.shape() == like.shape(), ShapeError,
           type() << ": state '" << name << "." << slot_name << "' has shape " << to_string(it->second.shape())
                  << " but the parameter has " << to_string(like.shape()));
  return it->second;
}

nlohmann::json Optimizer::config() const { return {{"learning_rate", lr_}}; }

float clip_grad_norm(Module& model, float max_norm) {
  auto params = model.named_parameters();
  double total = 0;
  for (const auto& [name, var] : params) {
    const Tensor& g = var.grad();
    if (!g.defined()) continue;
    const float* p = g.data();
    const int64_t n = g.numel();
    double s = 0;
#pragma omp parallel for simd reduction(+ : s) if (n > 65536)
    for (int64_t i = 0; i < n; ++i) s += static_cast<double>(p[i]) * p[i];
    MC_CHECK(std::isfinite(s), ValueError,
             "clip_grad_norm: the gradient of '" << name << "' is not finite (NaN or Inf); lower the learning rate "
                                                    "or check the input data");
    total += s;
  }
  const double norm = std::sqrt(total);
  if (norm > max_norm) {
    const float coef = static_cast<float>(max_norm / (norm + 1e-6));
    for (auto& entry : params) {
      Tensor& g = entry.second.mutable_grad();
      if (!g.defined()) continue;
      float* p = g.data();
      const int64_t n = g.numel();
#pragma omp parallel for simd if (n > 65536)
      for (int64_t i = 0; i < n; ++i) p[i] *= coef;
      g.mark_modified();
    }
  }
  return static_cast<float>(norm);
}

}  // namespace mc
