// DistributedSession: owns the process's world communicator. Create one, in main, before
// anything else touches the Communicator; it starts MPI once (MPI_THREAD_FUNNELED: only the
// main thread calls MPI, while OpenMP and OpenBLAS threads compute) and finalizes it when
// destroyed.
//
//   int main(int argc, char** argv) {
//     mc::DistributedSession session;               // Auto: MPI iff launched by mpirun/srun
//     mc::Communicator& comm = session.world();
//     ...
//   }
#pragma once

#include <memory>

#include "matcomp/distributed/communicator.h"

namespace mc {

enum class DistributedBackend {
  Auto,    // MPI when this build has it and an MPI launcher started the process, else single
  Single,  // always the single-process communicator
  Mpi,     // MPI or a ValueError (a process started without a launcher becomes a world of 1)
};

class DistributedSession {
 public:
  explicit DistributedSession(DistributedBackend backend = DistributedBackend::Auto);
  ~DistributedSession();
  DistributedSession(const DistributedSession&) = delete;
  DistributedSession& operator=(const DistributedSession&) = delete;

  Communicator& world() { return *world_; }

  static bool mpi_compiled();     // built with MATCOMP_MPI
  static bool launched_by_mpi();  // the environment of mpirun / mpiexec / srun is present

 private:
  std::unique_ptr<Communicator> world_;
  bool started_mpi_ = false;
};

}  // namespace mc
