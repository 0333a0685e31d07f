#include "matcomp/distributed/session.h"

#include <cstdlib>

#include "matcomp/distributed/mpi_backend.h"

namespace mc {

bool DistributedSession::mpi_compiled() {
#ifdef MATCOMP_MPI
  return true;
#else
  return false;
#endif
}

bool DistributedSession::launched_by_mpi() {
  // Open MPI's mpirun, PMI-based launchers (MPICH's hydra, srun --mpi=pmi2) and PMIx-based
  // ones (srun --mpi=pmix, prterun) each set one of these in every rank's environment.
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(var) != nullptr) return true;
  return false;
}

DistributedSession::DistributedSession(DistributedBackend backend) {
  bool use_mpi = false;
  if (backend == DistributedBackend::Mpi) {
    MC_CHECK(mpi_compiled(), ValueError,
             "the MPI backend was asked for, but this build has no MPI (configure with -DMATCOMP_MPI=ON "
             "after installing libopenmpi-dev)");
    use_mpi = true;
  } else if (backend == DistributedBackend::Auto) {
    use_mpi = mpi_compiled() && launched_by_mpi();
  }
  if (!use_mpi) {
    world_ = std::make_unique<SingleProcessCommunicator>();
    return;
  }
#ifdef MATCOMP_MPI
  started_mpi_ = detail::mpi_start();
  world_ = detail::mpi_world();
#endif
}

DistributedSession::~DistributedSession() {
  world_.reset();  // frees the duplicated MPI communicator before MPI_Finalize
#ifdef MATCOMP_MPI
  if (started_mpi_) detail::mpi_finish();
#endif
}

}  // namespace mc
