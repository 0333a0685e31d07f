// The module factory: rebuilds a model's structure from a description, so a checkpoint or an
// exported file can be loaded with nothing but the file.
//
//   register_module_type("MyLayer", [](const nlohmann::json& config) { return std::make_shared<MyLayer>(config); });
//   auto model = build_module("Cifar10Cnn", cnn_config_json);      // a whole reference model
//   nlohmann::json d = describe_structure(*model);                  // what a checkpoint stores
//   rebuild_structure(*other, d);   // replaces every module whose type or config differs
//
// A builder gets the module's config() (no values: those are loaded afterwards into the
// parameters, buffers and states it creates). layers/ registers its own types (the two
// reference models and DenseWeight) through an explicit list that every lookup runs first, so
// the registrations survive static linking; compression/ registers its weight seams the same
// way (layers/ never includes compression/).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "matcomp/layers/modules/module.h"

namespace mc {

using ModuleBuilder = std::function<std::shared_ptr<Module>(const nlohmann::json& config)>;

// Adds (or replaces) the builder for `type`. Register at start-up (not thread-safe against
// concurrent lookups).
void register_module_type(const std::string& type, ModuleBuilder builder);
// ValueError naming the unknown type and the known ones.
std::shared_ptr<Module> build_module(const std::string& type, const nlohmann::json& config);
bool has_module_type(const std::string& type);
std::vector<std::string> registered_module_types();

// {"root": {"type", "config"}, "modules": [{"path", "type", "config"}, ...]} with every
// module below the root in registry order (dotted paths, parents before children).
nlohmann::json describe_structure(const Module& root);

// Makes `root`'s structure equal to the description: each module whose type or config differs
// is rebuilt through the factory and put in its place, missing ones are added, ones the
// description lacks are removed. The root itself is not replaced: its type must match
// (IoError otherwise; its config is not compared), and a weight seam (weight.h) is replaced
// only by one of the same rows x cols (otherwise it is an architecture mismatch, left for the
// value checks to report). Values are not touched: load them afterwards.
void rebuild_structure(Module& root, const nlohmann::json& description);

}  // namespace mc
