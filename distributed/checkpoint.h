// Checkpoints in data-parallel runs: rank 0 writes (save_checkpoint is atomic: a temporary
// file renamed into place), the others wait for it, and a failure on rank 0 is reported on
// every rank instead of leaving them blocked.
//
// The Rng saved is rank 0's. A run resumed with another number of ranks reads the same file
// (every rank calls read_checkpoint/apply_checkpoint); the model and optimizer state are the
// same on every rank, so only per-rank randomness (dropout masks, data order) changes.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "matcomp/core/npy.h"
#include "matcomp/core/rng.h"
#include "matcomp/distributed/communicator.h"
#include "matcomp/layers/optim/ema.h"
#include "matcomp/layers/modules/module.h"
#include "matcomp/layers/optim/optimizer.h"

namespace mc {

// Collective. Rank 0 calls save_checkpoint with these arguments; on return the file is
// complete for every rank. Rank 0 rethrows its own error; the others throw IoError naming
// the path.
void save_checkpoint_on_root(Communicator& comm, const std::string& path, const Module& model, const Optimizer* optimizer,
                             int64_t step, const Rng* rng, const ExponentialMovingAverage* ema,
                             const nlohmann::json& extra = {}, const std::map<std::string, NpyArray>& extra_tensors = {});

}  // namespace mc
