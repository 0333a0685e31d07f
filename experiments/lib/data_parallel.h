// Data parallelism inside an experiment task: each rank trains on its share of every global
// batch, the gradients are averaged over the ranks before the update, and the model stays the
// same on every rank.
//
//   DataParallel dp(world);                   // world.size() ranks, e.g. under mpirun -np 2
//   dp.attach(model);                         // rank 0's initial values everywhere
//   const BatchShare mine = dp.share(128);    // rank 1 of 2: examples [64, 128)
//   ... forward on those examples, loss = their mean, loss.backward() ...
//   dp.reduce_gradients(mine.size());         // gradient of the mean over all 128, every rank
//   const float loss_all = dp.global_mean(local_loss, mine.size());
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "matcomp/core/npy.h"
#include "matcomp/core/rng.h"
#include "matcomp/core/tensor.h"
#include "matcomp/distributed/communicator.h"
#include "matcomp/distributed/gradient_reducer.h"
#include "matcomp/layers/optim/ema.h"
#include "matcomp/layers/modules/module.h"
#include "matcomp/layers/optim/optimizer.h"

namespace mc {

struct BatchShare {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
};

// Contiguous shares of `count` items over `ranks`; sizes differ by at most one, the larger
// ones first (empty ones last when count < ranks).
BatchShare share_of(int64_t count, int rank, int ranks);

class DataParallel {
 public:
  explicit DataParallel(Communicator& comm) : comm_(comm) {}
  // For a task: null when alone (no communicator, or a world of 1); ValueError when a batch of
  // `batch` examples cannot give every rank one. `who` names the task in the message.
  static std::unique_ptr<DataParallel> for_batch(Communicator* comm, int64_t batch, const std::string& who);

  Communicator& comm() { return comm_; }
  BatchShare share(int64_t count) const { return share_of(count, comm_.rank(), comm_.size()); }

  // A freshly built model: broadcast rank 0's values (equal seeds already agree; this makes
  // sure), and reduce its gradients from now on.
  void attach(Module& model);
  // Collective, after backward: every gradient becomes that of the global batch's mean loss.
  void reduce_gradients(int64_t local_examples);
  // The mean over the global batch from each rank's mean over its local examples.
  float global_mean(float local_mean, int64_t local_examples);
  // Collective: (count, ...) on every rank, rows [share(count)) taken from each rank's `local`.
  Tensor gather_rows(const Tensor& local, int64_t count);

 private:
  Communicator& comm_;
  std::unique_ptr<GradientReducer> reducer_;
};

// A task's checkpoint: save_checkpoint when alone (parallel null); with data parallelism a
// collective in which rank 0 writes (atomically) and every rank learns the outcome.
void save_task_checkpoint(DataParallel* parallel, const std::string& path, const Module& model, const Optimizer* optimizer,
                          int64_t step, const Rng* rng, const ExponentialMovingAverage* ema, const nlohmann::json& extra,
                          const std::map<std::string, NpyArray>& extra_tensors);

}  // namespace mc
