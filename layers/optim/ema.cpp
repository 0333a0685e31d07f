#include "matcomp/layers/optim/ema.h"

#include <algorithm>

#include "matcomp/core/error.h"

namespace mc {

ExponentialMovingAverage::ExponentialMovingAverage(Module& model, float decay)
    : model_(model), decay_(decay), seen_generation_(model.generation()) {
  MC_CHECK(decay >= 0.0f && decay < 1.0f, ValueError, "EMA decay must be in [0, 1), got " << decay);
}

void ExponentialMovingAverage::sync_with_model() {
  std::map<std::string, std::shared_ptr<VariableImpl>> current;
  for (const auto& [name, var] : model_.named_parameters()) current.emplace(name, var.impl());
  for (auto it = shadow_.begin(); it != shadow_.end();) {
    auto cur = current.find(it->first);
    auto owner = owners_.find(it->first);
    const bool gone = cur == current.end();
    const bool replaced = !gone && ((owner != owners_.end() && owner->second.lock() != cur->second) ||
                                    cur->second->value.shape() != it->second.shape());
    if (gone || replaced) {
      owners_.erase(it->first);
      it = shadow_.erase(it);
      continue;
    }
    owners_[it->first] = cur->second;
    ++it;
  }
  seen_generation_ = model_.generation();
}

void ExponentialMovingAverage::update() {
  MC_CHECK(backup_.empty(), Error, "EMA update() between apply() and restore(): restore() first");
  if (model_.generation() != seen_generation_) sync_with_model();
  const float n = static_cast<float>(num_updates_);
  const float d = std::min(decay_, (1.0f + n) / (10.0f + n));
  for (const auto& [name, var] : model_.named_parameters()) {
    auto it = shadow_.find(name);
    if (it == shadow_.end()) {
      shadow_.emplace(name, var.value().clone());
      owners_[name] = var.impl();
      continue;
    }
    float* s = it->second.data();
    const float* v = var.value().data();
    const int64_t k = it->second.numel();
#pragma omp parallel for simd if (k > 65536)
    for (int64_t i = 0; i < k; ++i) s[i] = d * s[i] + (1.0f - d) * v[i];
    it->second.mark_modified();
  }
  ++num_updates_;
}

void ExponentialMovingAverage::apply() {
  MC_CHECK(backup_.empty(), Error, "EMA apply() twice without restore()");
  if (model_.generation() != seen_generation_) sync_with_model();
  for (auto& [name, var] : model_.named_parameters()) {
    auto it = shadow_.find(name);
    if (it == shadow_.end()) continue;  // no average yet: keep the training value
    backup_.emplace(name, var.value().clone());
    var.value().copy_from(it->second);
  }
}

void ExponentialMovingAverage::restore() {
  for (auto& [name, saved] : backup_) {
    MC_CHECK(model_.has_parameter(name), Error, "EMA restore(): parameter '" << name << "' was removed after apply()");
    model_.parameter(name).value().copy_from(saved);
  }
  backup_.clear();
}

}  // namespace mc
