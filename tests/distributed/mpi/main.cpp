// Entry point of the multi-rank tests (run by CTest under mpiexec -np 2): MPI starts once,
// before any test, and finalizes after all of them.
#include <gtest/gtest.h>

#include "matcomp/distributed/session.h"
#include "world.h"

namespace mc_test {
mc::Communicator* g_world = nullptr;
}

int main(int argc, char** argv) {
  mc::DistributedSession session(mc::DistributedBackend::Mpi);
  mc_test::g_world = &session.world();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
