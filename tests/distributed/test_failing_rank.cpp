// A rank that fails must end the whole job with a message naming what happened, not leave
// the other ranks waiting in a collective. Runs mpiexec itself (this binary is not started
// under mpiexec), so it exists only in builds with MPI.
#ifdef MATCOMP_MPIEXEC

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace {

struct JobResult {
  int status = -1;
  std::string output;
};

JobResult launch(const std::string& mode, const std::string& env = "") {
  // timeout: a hang fails the test after a minute instead of blocking CTest.
  // Environment as for the 2-rank CTest job (tests/distributed/CMakeLists.txt says why).
  const std::string command = env + " OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
                              "ASAN_OPTIONS=detect_leaks=0 timeout 120 " +
                              std::string(MATCOMP_MPIEXEC) + " -np 2 --oversubscribe " + MATCOMP_MPI_PROBE + " " + mode +
                              " 2>&1";
  JobResult run;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return run;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) run.output.append(buf.data(), n);
  const int raw = ::pclose(pipe);
  run.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return run;
}

}  // namespace

TEST(FailingRank, ControlRunSucceeds) {
  const JobResult r = launch("ok");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("rank 1/2: finished"), std::string::npos) << r.output;
}

TEST(FailingRank, ErrorOnOneRankAbortsTheJobWithItsMessage) {
  const JobResult r = launch("throw");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.status, 124) << "the job hung until the timeout:\n" << r.output;
  EXPECT_NE(r.output.find("rank 1/2: training failed: probe: a NaN loss at step 3"), std::string::npos) << r.output;
  // Open MPI's own "MPI_ABORT was invoked on rank 1" banner is not checked: its launcher
  // sometimes loses it while killing the job (ORTE_ERROR_LOG in show_help.c); ours is printed
  // before MPI_Abort.
}

TEST(FailingRank, RankDyingMidRunEndsTheJob) {
  const JobResult r = launch("die");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.status, 124) << "the job hung until the timeout:\n" << r.output;
  // Open MPI's launcher names the process and its exit code.
  EXPECT_NE(r.output.find("Exit code:    3"), std::string::npos) << r.output;
}

TEST(FailingRank, StoppedRankEndsTheJobAfterTheTimeout) {
  const JobResult r = launch("stop", "MATCOMP_MPI_TIMEOUT=3");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.status, 124) << "the job hung until the timeout:\n" << r.output;
  EXPECT_NE(r.output.find("rank 0/2: MPI_Allreduce (collective number"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("did not complete within 3 s (MATCOMP_MPI_TIMEOUT)"), std::string::npos) << r.output;
}

TEST(FailingRank, BadTimeoutSettingIsNamed) {
  const JobResult r = launch("ok", "MATCOMP_MPI_TIMEOUT=soon");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("MATCOMP_MPI_TIMEOUT is \"soon\""), std::string::npos) << r.output;
}

#endif  // MATCOMP_MPIEXEC
