#include "experiments/lib/run_info.h"

#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "matcomp/core/parallel.h"

#ifndef MATCOMP_SOURCE_DIR
#define MATCOMP_SOURCE_DIR "."
#endif
#ifndef MATCOMP_CONFIGURE_REVISION
#define MATCOMP_CONFIGURE_REVISION "unknown"
#endif

namespace mc {

std::string git_revision() {
  // Ask git at run time (the build may be older than the checkout); fall back to the
  // revision seen when CMake configured the build.
  const std::string cmd = std::string("git -C '") + MATCOMP_SOURCE_DIR + "' rev-parse --short=12 HEAD 2>/dev/null";
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    std::array<char, 128> buf{};
    while (std::fgets(buf.data(), buf.size(), p)) out += buf.data();
    ::pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  if (out.empty()) return MATCOMP_CONFIGURE_REVISION;
  const std::string dirty_cmd = std::string("git -C '") + MATCOMP_SOURCE_DIR + "' status --porcelain --untracked-files=no 2>/dev/null";
  if (FILE* p = ::popen(dirty_cmd.c_str(), "r")) {
    if (std::fgetc(p) != EOF) out += "-dirty";
    ::pclose(p);
  }
  return out;
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

nlohmann::json run_info(int argc, char** argv, uint64_t seed, int threads) {
  std::string command;
  for (int i = 0; i < argc; ++i) {
    if (i) command += ' ';
    command += argv[i];
  }
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  // The kernel settings some machines put in the environment (null where unset).
  nlohmann::json blas_environment = nlohmann::json::object();
  for (const char* name : {"OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"}) {
    const char* value = std::getenv(name);
    blas_environment[name] = value ? nlohmann::json(value) : nlohmann::json(nullptr);
  }
  return {{"command", command},
          {"seed", seed},
          {"threads", threads},
          {"git_revision", git_revision()},
          {"host", host},
          {"started_utc", utc_now()},
          {"blas_threading", blas_threading()},
          {"blas_config", blas_config()},
          {"blas_kernel", blas_kernel()},
          {"blas_environment", blas_environment}};
}

}  // namespace mc
