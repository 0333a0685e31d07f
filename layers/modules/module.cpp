#include "matcomp/layers/modules/module.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "matcomp/core/error.h"

namespace mc {

namespace {
template <typename Entries>
auto find_named(Entries& entries, const std::string& name) {
  return std::find_if(entries.begin(), entries.end(), [&](const auto& e) { return e.first == name; });
}

void check_name(const std::string& name) {
  MC_CHECK(!name.empty() && name.find('.') == std::string::npos, ValueError,
           "bad registry name '" << name << "': names are non-empty and contain no '.'");
}
}  // namespace

Var& Module::register_parameter(const std::string& name, Tensor init, ParamGroup group) {
  return register_parameter(name, Var(std::move(init), true, name), group);
}

Var& Module::register_parameter(const std::string& name, Var existing, ParamGroup group) {
  check_name(name);
  MC_CHECK(existing.defined() && existing.is_leaf(), ValueError,
           type() << ": parameter '" << name << "' must be a defined leaf Var");
  MC_CHECK(find_named(parameters_, name) == parameters_.end() && find_named(children_, name) == children_.end(),
           ValueError, type() << ": '" << name << "' is already registered");
  existing.set_requires_grad(true);
  parameters_.emplace_back(name, ParameterEntry{std::move(existing), group});
  bump();
  return parameters_.back().second.var;
}

void Module::register_buffer(const std::string& name, Tensor value) {
  check_name(name);
  auto it = find_named(buffers_, name);
  if (it != buffers_.end()) it->second = std::move(value);
  else buffers_.emplace_back(name, std::move(value));
  bump();
}

void Module::register_state(const std::string& name, NpyArray value) {
  check_name(name);
  auto it = find_named(states_, name);
  if (it != states_.end()) it->second = std::move(value);
  else states_.emplace_back(name, std::move(value));
  bump();
}

nlohmann::json Module::config() const { return nlohmann::json::object(); }

void Module::add_child(const std::string& name, std::shared_ptr<Module> child) {
  check_name(name);
  MC_CHECK(child != nullptr, ValueError, "register_module('" << name << "') with a null module");
  MC_CHECK(find_named(children_, name) == children_.end() && find_named(parameters_, name) == parameters_.end(),
           ValueError, type() << ": '" << name << "' is already registered");
  child->parent_ = this;
  children_.emplace_back(name, std::move(child));
  bump();
}

std::shared_ptr<Module> Module::find_child(const std::string& name) const {
  auto it = find_named(children_, name);
  return it == children_.end() ? nullptr : it->second;
}

std::vector<std::pair<std::string, Var>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Var>> out;
  for (const auto& [name, entry] : parameters_) out.emplace_back(name, entry.var);
  for (const auto& [name, child] : children_)
    for (auto& [sub, var] : child->named_parameters()) out.emplace_back(name + "." + sub, var);
  return out;
}

std::vector<std::pair<std::string, ParamGroup>> Module::named_parameter_groups() const {
  std::vector<std::pair<std::string, ParamGroup>> out;
  for (const auto& [name, entry] : parameters_) out.emplace_back(name, entry.group);
  for (const auto& [name, child] : children_)
    for (auto& [sub, group] : child->named_parameter_groups()) out.emplace_back(name + "." + sub, group);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  std::vector<std::pair<std::string, Tensor>> out(buffers_.begin(), buffers_.end());
  for (const auto& [name, child] : children_)
    for (auto& [sub, t] : child->named_buffers()) out.emplace_back(name + "." + sub, t);
  return out;
}

std::vector<std::pair<std::string, NpyArray>> Module::named_states() const {
  std::vector<std::pair<std::string, NpyArray>> out(states_.begin(), states_.end());
  for (const auto& [name, child] : children_)
    for (auto& [sub, a] : child->named_states()) out.emplace_back(name + "." + sub, std::move(a));
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_modules() const {
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> out;
  for (const auto& [name, child] : children_) {
    out.emplace_back(name, child);
    for (auto& [sub, m] : child->named_modules()) out.emplace_back(name + "." + sub, m);
  }
  return out;
}

const Module* Module::owner_of(const std::string& dotted, std::string& leaf) const {
  const Module* m = this;
  size_t start = 0;
  for (size_t dot; (dot = dotted.find('.', start)) != std::string::npos; start = dot + 1) {
    const std::string part = dotted.substr(start, dot - start);
    auto child = m->find_child(part);
    MC_CHECK(child != nullptr, Error,
             "no module '" << dotted.substr(0, dot) << "' in the model (looking up '" << dotted << "')");
    m = child.get();
  }
  leaf = dotted.substr(start);
  return m;
}

Module* Module::owner_of(const std::string& dotted, std::string& leaf) {
  return const_cast<Module*>(static_cast<const Module*>(this)->owner_of(dotted, leaf));
}

namespace {
std::string known_names(const std::vector<std::pair<std::string, Var>>& params) {
  std::string s;
  for (size_t i = 0; i < params.size() && i < 12; ++i) s += (i ? ", " : "") + params[i].first;
  if (params.size() > 12) s += ", ...";
  return s;
}
}  // namespace

Var& Module::parameter(const std::string& dotted) {
  std::string leaf;
  Module* m = owner_of(dotted, leaf);
  auto it = find_named(m->parameters_, leaf);
  MC_CHECK(it != m->parameters_.end(), Error,
           "no parameter '" << dotted << "'; the model has: " << known_names(named_parameters()));
  return it->second.var;
}

bool Module::has_parameter(const std::string& dotted) const {
  for (const auto& [name, var] : named_parameters())
    if (name == dotted) return true;
  return false;
}

Tensor& Module::buffer(const std::string& dotted) {
  std::string leaf;
  Module* m = owner_of(dotted, leaf);
  auto it = find_named(m->buffers_, leaf);
  MC_CHECK(it != m->buffers_.end(), Error, "no buffer '" << dotted << "' in the model");
  return it->second;
}

std::shared_ptr<Module> Module::module(const std::string& dotted) const {
  std::string leaf;
  const Module* m = owner_of(dotted, leaf);
  auto child = m->find_child(leaf);
  MC_CHECK(child != nullptr, Error, "no module '" << dotted << "' in the model");
  return child;
}

const NpyArray& Module::state(const std::string& dotted) const {
  std::string leaf;
  const Module* m = owner_of(dotted, leaf);
  auto it = find_named(m->states_, leaf);
  MC_CHECK(it != m->states_.end(), Error, "no state '" << dotted << "' in the model");
  return it->second;
}

void Module::set_state(const std::string& dotted, NpyArray value) {
  std::string leaf;
  Module* m = owner_of(dotted, leaf);
  auto it = find_named(m->states_, leaf);
  MC_CHECK(it != m->states_.end(), Error, "set_state: no state '" << dotted << "' in the model");
  it->second = std::move(value);
}

bool Module::has_module(const std::string& dotted) const {
  const Module* m = this;
  size_t start = 0;
  while (true) {
    const size_t dot = dotted.find('.', start);
    auto child = m->find_child(dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (!child) return false;
    if (dot == std::string::npos) return true;
    m = child.get();
    start = dot + 1;
  }
}

void Module::add_module(const std::string& dotted, std::shared_ptr<Module> child) {
  std::string leaf;
  Module* m = owner_of(dotted, leaf);
  m->add_child(leaf, std::move(child));
}

void Module::remove_module(const std::string& dotted) {
  std::string leaf;
  Module* m = owner_of(dotted, leaf);
  auto it = find_named(m->children_, leaf);
  MC_CHECK(it != m->children_.end(), Error, "remove_module: no module '" << dotted << "' in the model");
  it->second->parent_ = nullptr;
  m->children_.erase(it);
  m->bump();
}

Var& Module::own_parameter(const std::string& name) {
  auto it = find_named(parameters_, name);
  MC_CHECK(it != parameters_.end(), Error, type() << " has no parameter '" << name << "'");
  return it->second.var;
}

Tensor& Module::own_buffer(const std::string& name) {
  auto it = find_named(buffers_, name);
  MC_CHECK(it != buffers_.end(), Error, type() << " has no buffer '" << name << "'");
  return it->second;
}

void Module::replace_module(const std::string& dotted, std::shared_ptr<Module> replacement) {
  MC_CHECK(replacement != nullptr, ValueError, "replace_module('" << dotted << "') with a null module");
  std::string leaf;
  Module* m = owner_of(dotted, leaf);
  auto it = find_named(m->children_, leaf);
  MC_CHECK(it != m->children_.end(), Error, "replace_module: no module '" << dotted << "' in the model");
  replacement->parent_ = m;
  it->second->parent_ = nullptr;
  it->second = std::move(replacement);
  m->bump();
}

void Module::remove_parameter(const std::string& dotted) {
  std::string leaf;
  Module* m = owner_of(dotted, leaf);
  auto it = find_named(m->parameters_, leaf);
  MC_CHECK(it != m->parameters_.end(), Error, "remove_parameter: no parameter '" << dotted << "'");
  m->parameters_.erase(it);
  m->bump();
}

void Module::set_group(const std::string& dotted, ParamGroup group) {
  std::string leaf;
  Module* m = owner_of(dotted, leaf);
  auto it = find_named(m->parameters_, leaf);
  MC_CHECK(it != m->parameters_.end(), Error, "set_group: no parameter '" << dotted << "'");
  it->second.group = group;
}

void Module::bump() {
  for (Module* m = this; m != nullptr; m = m->parent_) ++m->generation_;
}

uint64_t Module::generation() const { return generation_; }

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad() {
  for (auto& [name, var] : named_parameters()) var.zero_grad();
}

int64_t Module::parameter_count() const {
  int64_t n = 0;
  for (const auto& [name, var] : named_parameters()) n += var.numel();
  return n;
}

}  // namespace mc
