// The reference models as an architecture description, {"type": ..., "config": {...}}, and
// back: what a model file needs to build its model with nothing but the file.
#pragma once

#include <memory>

#include <nlohmann/json.hpp>

#include "matcomp/layers/module.h"

namespace mc {

// {"type": "Cifar10Cnn" | "PtbLstm", "config": {...every config field...}}; ValueError for
// another root type (the message names it).
nlohmann::json describe_architecture(const Module& model);

// A freshly initialised model of that architecture (values are to be loaded over it), for
// inference: a PtbLstm is built without dropout.
// ValueError naming the type or the config field that is missing or of the wrong type.
std::shared_ptr<Module> build_architecture(const nlohmann::json& architecture);

}  // namespace mc
