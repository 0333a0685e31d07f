// Communicator: the few collective operations data-parallel training needs.
//
//   mc::DistributedSession session;            // in main: starts MPI when launched by mpirun/srun
//   mc::Communicator& comm = session.world();  // size 1 when not
//   comm.allreduce_sum(grads, n);              // every rank ends with the sum
//
// Two implementations: SingleProcessCommunicator (always built; size 1, every operation a
// no-op) so code written against this interface runs unchanged without MPI, and the MPI one
// (distributed/mpi_backend.cpp, built when MATCOMP_MPI is on). Every operation is collective:
// all ranks must call it, in the same order, with the same counts.
#pragma once

#include <cstdint>
#include <string>

#include "matcomp/core/error.h"

namespace mc {

// A collective failed (a peer died, the network went away). The message names the
// operation, this rank and the MPI error text.
class CommunicationError : public Error {
 public:
  using Error::Error;
};

// How long an MPI collective waits for the other ranks before it ends the job with a message
// naming the rank and the collective (a stopped or hung rank); $MATCOMP_MPI_TIMEOUT overrides
// it in seconds, 0 waits forever.
inline constexpr double kDefaultCollectiveTimeoutSeconds = 300;

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  bool is_root() const { return rank() == 0; }
  virtual std::string backend() const = 0;  // "single" or "mpi"

  // data[0, count) <- sum over ranks of data[0, count), on every rank.
  virtual void allreduce_sum(float* data, int64_t count) = 0;
  // bytes[0, count) on every rank <- those of `root`.
  virtual void broadcast(void* bytes, int64_t count, int root) = 0;
  void broadcast(float* data, int64_t count, int root) { broadcast(static_cast<void*>(data), 4 * count, root); }
  virtual void barrier() = 0;
  // Ends the whole job (every rank), after printing "rank r/size: message" to stderr. For
  // errors one rank cannot recover from alone: the others would wait forever in a collective.
  [[noreturn]] virtual void abort(const std::string& message, int exit_code = 1) = 0;
};

class SingleProcessCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "single"; }
  void allreduce_sum(float*, int64_t count) override;
  void broadcast(void*, int64_t count, int root) override;
  void barrier() override {}
  [[noreturn]] void abort(const std::string& message, int exit_code = 1) override;
};

}  // namespace mc
