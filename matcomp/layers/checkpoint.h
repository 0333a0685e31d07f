// Checkpoints: everything needed to resume training bit for bit, in one safetensors file
// (see safetensors.h; any safetensors or numpy reader can open it, docs/CHECKPOINTS.md).
//
// Tensors: "model.<param>", "buffer.<name>", "optim.<param>.<slot>", "ema.<param>" (float32)
// and "extra.<name>" (any dtype, the caller's). "__metadata__" holds one string, "matcomp":
// a JSON document with format "matcomp-checkpoint", format_version 1, step, rng state,
// optimizer type/config/steps/learning rate, EMA decay/num_updates, and the caller's "extra".
//
// Loading is two-phase, because a compressed model must be rebuilt to the saved structure
// (from metadata["extra"]) before its parameters can be loaded:
//
//   Checkpoint ck = read_checkpoint(path);
//   rebuild_structure(model, ck.metadata["extra"]);     // e.g. the compression scheduler
//   apply_checkpoint(ck, model, &opt, &rng, &ema);
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "matcomp/core/npy.h"
#include "matcomp/core/rng.h"
#include "matcomp/layers/ema.h"
#include "matcomp/layers/module.h"
#include "matcomp/layers/optimizer.h"

namespace mc {

inline constexpr int kCheckpointFormatVersion = 1;

struct Checkpoint {
  nlohmann::json metadata;                  // the "matcomp" document
  std::map<std::string, NpyArray> tensors;  // every tensor, by full name ("model.lstm.layer0.bias")
  int64_t step() const { return metadata.at("step").get<int64_t>(); }
};

// IoError when the file is not a matcomp checkpoint of a supported version, or is malformed.
Checkpoint read_checkpoint(const std::string& path);

// Loads into the model (in place, same storage) and, when non-null, the optimizer, the Rng
// and the EMA. Checks first, changes nothing on error: IoError listing every missing name,
// unexpected name and shape mismatch, or a part asked for that the checkpoint lacks.
void apply_checkpoint(const Checkpoint& checkpoint, Module& model, Optimizer* optimizer, Rng* rng,
                      ExponentialMovingAverage* ema);

void save_checkpoint(const std::string& path, const Module& model, const Optimizer* optimizer, int64_t step,
                     const Rng* rng, const ExponentialMovingAverage* ema, const nlohmann::json& extra = {},
                     const std::map<std::string, NpyArray>& extra_tensors = {});

}  // namespace mc
