#include "matcomp/distributed/communicator.h"

#include <cstdio>
#include <cstdlib>

namespace mc {

void SingleProcessCommunicator::allreduce_sum(float*, int64_t count) {
  // The sum over one rank is the data itself; only the arguments are checked, so a bug that
  // would break the MPI run breaks this one too.
  MC_CHECK(count >= 0, ValueError, "allreduce_sum: negative count " << count);
}

void SingleProcessCommunicator::broadcast(void*, int64_t count, int root) {
  MC_CHECK(count >= 0, ValueError, "broadcast: negative count " << count);
  MC_CHECK(root == 0, ValueError, "broadcast: root " << root << " does not exist in a single-process world (size 1)");
}

void SingleProcessCommunicator::abort(const std::string& message, int exit_code) {
  std::fprintf(stderr, "rank 0/1: %s\n", message.c_str());
  std::fflush(stderr);
  std::_Exit(exit_code);  // as MPI_Abort: no unwinding, no exit handlers
}

}  // namespace mc
