// A tiny data-parallel training run in which one rank fails on purpose, launched under
// mpiexec by test_failing_rank.cpp. Usage: distributed_fault_probe ok|throw|die|stop
//   ok:    every rank trains 5 steps and exits 0 (the control)
//   throw: the last rank throws an mc::Error at step 3; main turns it into Communicator::abort
//   die:   the last rank exits with status 3 at step 3, mid-run, without a word
//   stop:  the last rank stops itself (SIGSTOP) at step 3; the others must end the job after
//          MATCOMP_MPI_TIMEOUT seconds instead of waiting forever
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>

#include "../dp_test_model.h"
#include "matcomp/distributed/model_sync.h"
#include "matcomp/distributed/session.h"

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "ok";
  mc::DistributedSession session;
  mc::Communicator& comm = session.world();
  try {
    const mc_test::Task task = mc_test::make_task(256, 3);
    mc_test::Trainer t(7);
    mc::broadcast_model(comm, t.model);
    mc::GradientReducer reducer(comm, t.model);
    const auto [begin, end] = mc_test::shard(comm.rank(), comm.size());
    for (int64_t step = 0; step < 5; ++step) {
      if (step == 3 && comm.rank() == comm.size() - 1) {
        if (std::strcmp(mode, "throw") == 0) throw mc::ValueError("probe: a NaN loss at step 3 (on purpose)");
        if (std::strcmp(mode, "die") == 0) ::_exit(3);
        if (std::strcmp(mode, "stop") == 0) std::raise(SIGSTOP);
      }
      t.forward_backward(task, step, begin, end);
      reducer.reduce(end - begin);
      t.update(step);
    }
    std::printf("rank %d/%d: finished\n", comm.rank(), comm.size());
  } catch (const std::exception& e) {
    comm.abort(std::string("training failed: ") + e.what());
  }
  return 0;
}
