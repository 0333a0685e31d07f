// GradientReducer: data-parallel gradient averaging over a Communicator.
//
//   GradientReducer reducer(comm, model);        // buckets of 4 MiB
//   loss = ...forward on this rank's shard of the global batch (a mean over its n examples)...;
//   loss.backward();
//   reducer.reduce(n);                            // every grad is now d(mean loss over the
//   clip_grad_norm(model, 5); opt.step();         //   global batch)/d param, on every rank
//
// Each rank's gradient is weighted by its example count before the sum and the sum divided by
// the global count, so uneven shards (a short last batch) still give the full-batch gradient
// of a mean loss. Parameters are walked in registry order (named_parameters(), identical on
// every rank) and packed into one stream, cut into buckets of ~bucket_mib: one allreduce per
// bucket instead of one per parameter (the CIFAR CNN has 10 parameters, a 2-layer LSTM
// model 7; a bucket also bounds the extra memory).
//
// The reduction runs after backward, not overlapped with it: the autograd engine has no
// per-leaf "gradient ready" hook, and on the 2 cores measured here an overlapping
// communication thread would only take a core from the computation (docs/DISTRIBUTED.md
// has the figures).
#pragma once

#include <cstdint>
#include <vector>

#include "matcomp/distributed/communicator.h"
#include "matcomp/layers/modules/module.h"

namespace mc {

struct ReduceStats {
  int64_t bytes = 0;     // payload of the allreduces (float32), per rank
  int64_t messages = 0;  // allreduce calls on gradient buckets (the two tiny messages of the
                         // per-step structure check are not counted, their time is)
  double seconds = 0;    // wall time inside reduce(), packing and structure check included
};

class GradientReducer {
 public:
  explicit GradientReducer(Communicator& comm, Module& model, double bucket_mib = 4.0);

  // Call on every rank after backward. local_examples: how many examples this rank's mean
  // loss averaged over (0 when a rank had none; it then contributes nothing). A parameter
  // that got no gradient on any rank keeps an undefined gradient (the optimizer skips it, as
  // without data parallelism); one that got a gradient on some rank gets the average on all.
  // Throws CommunicationError when the ranks' models differ in structure.
  void reduce(int64_t local_examples);

  const ReduceStats& last() const { return last_; }
  const ReduceStats& total() const { return total_; }

 private:
  void check_structure();

  Communicator& comm_;
  Module& model_;
  int64_t bucket_floats_;
  uint64_t checked_generation_ = ~0ull;
  std::vector<float> buffer_;
  ReduceStats last_, total_;
};

}  // namespace mc
