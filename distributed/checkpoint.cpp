#include "matcomp/distributed/checkpoint.h"

#include <cstdint>

#include "matcomp/formats/checkpoint.h"

namespace mc {

void save_checkpoint_on_root(Communicator& comm, const std::string& path, const Module& model, const Optimizer* optimizer,
                             int64_t step, const Rng* rng, const ExponentialMovingAverage* ema, const nlohmann::json& extra,
                             const std::map<std::string, NpyArray>& extra_tensors) {
  std::exception_ptr error;
  int32_t ok = 1;
  if (comm.is_root()) {
    try {
      save_checkpoint(path, model, optimizer, step, rng, ema, extra, extra_tensors);
    } catch (...) {
      error = std::current_exception();
      ok = 0;
    }
  }
  // The outcome, not just a barrier: ranks waiting on a rank 0 that failed learn it here.
  comm.broadcast(&ok, sizeof ok, 0);
  if (error) std::rethrow_exception(error);
  MC_CHECK(ok == 1, IoError, "rank 0 failed to write the checkpoint " << path << " (its own error says why)");
}

}  // namespace mc
