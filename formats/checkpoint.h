// Checkpoints: everything needed to resume training bit for bit, in one safetensors file
// (see safetensors.h; any safetensors or numpy reader can open it, docs/CHECKPOINTS.md).
//
// A checkpoint is a dump of the model's registry (module.h) plus the training state:
// tensors "model.<param>", "buffer.<name>", "optim.<param>.<slot>", "ema.<param>" (float32),
// "state.<name>" (the modules' typed states, any dtype) and "extra.<name>" (any dtype, the
// caller's). "__metadata__" holds one string, "matcomp": a JSON document with format
// "matcomp-checkpoint", format_version 2, step, "structure" (module_factory.h's
// describe_structure: every module's path, type and config), rng state, optimizer
// type/config/steps/learning rate, EMA decay/num_updates, and the caller's "extra".
//
//   save_checkpoint(path, model, &opt, step, &rng, &ema);
//   apply_checkpoint(read_checkpoint(path), model, &opt, &rng, &ema);
//
// Loading first rebuilds the model's structure to the saved one through the module factory
// (a compressed layer comes back compressed, in its phase, from the file alone), then loads
// the values. Version-1 files (compression state kept beside the model) are refused with an
// error naming the version.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "matcomp/core/npy.h"
#include "matcomp/core/rng.h"
#include "matcomp/layers/optim/ema.h"
#include "matcomp/layers/modules/module.h"
#include "matcomp/layers/optim/optimizer.h"

namespace mc {

inline constexpr int kCheckpointFormatVersion = 2;

struct Checkpoint {
  nlohmann::json metadata;                  // the "matcomp" document
  std::map<std::string, NpyArray> tensors;  // every tensor, by full name ("model.lstm.layer0.bias")
  int64_t step() const { return metadata.at("step").get<int64_t>(); }
};

// IoError when the file is not a matcomp checkpoint of a supported version, or is malformed.
Checkpoint read_checkpoint(const std::string& path);

// Rebuilds the model's structure to the checkpoint's (module_factory.h: modules whose type or
// config differ are rebuilt, so builders for every saved type must be registered), then loads
// into the model (in place, same storage) and, when non-null, the optimizer, the Rng and the
// EMA, and calls each module's on_values_loaded(). Checks the values before loading any:
// IoError listing every missing name, unexpected name, dtype and shape mismatch, or a part
// asked for that the checkpoint lacks (the structure may have been rebuilt by then).
void apply_checkpoint(const Checkpoint& checkpoint, Module& model, Optimizer* optimizer, Rng* rng,
                      ExponentialMovingAverage* ema);

void save_checkpoint(const std::string& path, const Module& model, const Optimizer* optimizer, int64_t step,
                     const Rng* rng, const ExponentialMovingAverage* ema, const nlohmann::json& extra = {},
                     const std::map<std::string, NpyArray>& extra_tensors = {});

}  // namespace mc
