// The MPI Communicator. Compiled to nothing without MATCOMP_MPI (see CMakeLists.txt).
#ifdef MATCOMP_MPI

#include "matcomp/distributed/mpi_backend.h"

// The C API only: without these, mpi.h from C++ drags in the deprecated C++ bindings, whose
// symbols live in a library we do not link.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>

namespace mc::detail {
namespace {

std::string error_text(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) return "MPI error code " + std::to_string(code);
  return std::string(text, static_cast<size_t>(length));
}

// Seconds a collective may wait for the other ranks before the job is ended (0: forever),
// from $MATCOMP_MPI_TIMEOUT; a stopped or hung rank would otherwise leave the others waiting
// with no message.
double collective_timeout_seconds() {
  const char* text = std::getenv("MATCOMP_MPI_TIMEOUT");
  if (!text || !*text) return kDefaultCollectiveTimeoutSeconds;
  char* end = nullptr;
  const double seconds = std::strtod(text, &end);
  MC_CHECK(end != text && *end == '\0' && seconds >= 0 && seconds < 1e9, CommunicationError,
           "MATCOMP_MPI_TIMEOUT is \"" << text << "\": expected a number of seconds >= 0 (0 waits forever; default "
                                        << kDefaultCollectiveTimeoutSeconds << ")");
  return seconds;
}

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    // A private duplicate: our collectives cannot match messages of other MPI code in the
    // process, and the error handler below applies to our traffic only.
    check(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
    check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
    timeout_seconds_ = collective_timeout_seconds();
  }
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&comm_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }

  void allreduce_sum(float* data, int64_t count) override {
    MC_CHECK(count >= 0, ValueError, "allreduce_sum: negative count " << count);
    // MPI counts are int: large buffers go in pieces.
    for (int64_t done = 0; done < count;) {
      const int n = static_cast<int>(std::min<int64_t>(count - done, INT_MAX));
      MPI_Request request;
      check(MPI_Iallreduce(MPI_IN_PLACE, data + done, n, MPI_FLOAT, MPI_SUM, comm_, &request), "MPI_Iallreduce");
      wait(request, "MPI_Allreduce");
      done += n;
    }
  }

  void broadcast(void* bytes, int64_t count, int root) override {
    MC_CHECK(count >= 0, ValueError, "broadcast: negative count " << count);
    MC_CHECK(root >= 0 && root < size_, ValueError, "broadcast: root " << root << " outside the world of size " << size_);
    char* p = static_cast<char*>(bytes);
    for (int64_t done = 0; done < count;) {
      const int n = static_cast<int>(std::min<int64_t>(count - done, INT_MAX));
      MPI_Request request;
      check(MPI_Ibcast(p + done, n, MPI_BYTE, root, comm_, &request), "MPI_Ibcast");
      wait(request, "MPI_Bcast");
      done += n;
    }
  }

  void barrier() override {
    MPI_Request request;
    check(MPI_Ibarrier(comm_, &request), "MPI_Ibarrier");
    wait(request, "MPI_Barrier");
  }

  void abort(const std::string& message, int exit_code) override {
    std::fprintf(stderr, "rank %d/%d: %s\n", rank_, size_, message.c_str());
    std::fflush(stderr);
    MPI_Abort(comm_, exit_code);
    std::_Exit(exit_code);  // MPI_Abort does not return; this satisfies [[noreturn]]
  }

 private:
  void check(int code, const char* operation) const {
    if (code == MPI_SUCCESS) return;
    throw CommunicationError(std::string(operation) + " failed on rank " + std::to_string(rank_) + " of " +
                             std::to_string(size_) + ": " + error_text(code) +
                             " (another rank may have died or called a different collective)");
  }

  // Polls a non-blocking collective until it completes or the timeout passes; then ends the
  // whole job (MPI_Abort also ends a stopped rank) with a message naming this rank, the
  // collective and how many collectives this rank had completed, so the stuck step is known.
  // Spins first (a collective usually completes within microseconds), then sleeps between
  // polls so a long wait does not take a core from the rank still computing.
  void wait(MPI_Request& request, const char* operation) {
    const auto start = std::chrono::steady_clock::now();
    for (int64_t polls = 0;; ++polls) {
      int done = 0;
      check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), operation);
      if (done) break;
      if (polls < 20000) continue;
      const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (timeout_seconds_ > 0 && waited > timeout_seconds_) {
        std::ostringstream message;
        message << operation << " (collective number " << completed_ + 1 << " of this rank) did not complete within "
                << timeout_seconds_ << " s (MATCOMP_MPI_TIMEOUT): another rank is stopped, hung or much slower; "
                << "ending the job";
        abort(message.str(), 2);
      }
      std::this_thread::sleep_for(std::chrono::microseconds(polls < 40000 ? 10 : 200));
    }
    ++completed_;
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  double timeout_seconds_ = kDefaultCollectiveTimeoutSeconds;
  int64_t completed_ = 0;
};

}  // namespace

bool mpi_start() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  MC_CHECK(!finalized, CommunicationError,
           "MPI was already finalized in this process and cannot start again: create one DistributedSession, in main");
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) return false;  // someone else owns MPI's lifetime
  int provided = 0;
  const int code = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  MC_CHECK(code == MPI_SUCCESS, CommunicationError, "MPI_Init_thread failed: " << error_text(code));
  MC_CHECK(provided >= MPI_THREAD_FUNNELED, CommunicationError,
           "this MPI library does not provide MPI_THREAD_FUNNELED (got level " << provided << ")");
  return true;
}

void mpi_finish() { MPI_Finalize(); }

std::unique_ptr<Communicator> mpi_world() { return std::make_unique<MpiCommunicator>(); }

}  // namespace mc::detail

#endif  // MATCOMP_MPI
