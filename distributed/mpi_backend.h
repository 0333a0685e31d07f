// Internal: the MPI side of DistributedSession. Defined in mpi_backend.cpp when MATCOMP_MPI
// is on; the session never calls these otherwise.
#pragma once

#include <memory>

#include "matcomp/distributed/communicator.h"

namespace mc::detail {

// MPI_Init_thread(FUNNELED) unless MPI is already running; true if this call started it.
// Throws CommunicationError when MPI was already finalized (it cannot start twice).
bool mpi_start();
void mpi_finish();  // MPI_Finalize
// A communicator over a duplicate of MPI_COMM_WORLD whose errors return (MPI_ERRORS_RETURN),
// so a failed collective becomes a CommunicationError instead of a silent abort.
std::unique_ptr<Communicator> mpi_world();

}  // namespace mc::detail
