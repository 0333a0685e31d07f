#include "experiments/lib/run_info.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

#include "matcomp/core/atomic_file.h"
#include "matcomp/core/parallel.h"
#include "matcomp/layers/kernels/layer_gemm.h"
#include "tools/cli/cli_conventions.h"

namespace mc {

std::string git_revision() { return cli::git_revision(); }

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The processor's model name as Linux reports it ("" elsewhere): two machines that share a host
// name (a VM image's default) are still told apart, and a kernel autodetected differently is
// explained by the processor it ran on.
static std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon == std::string::npos) break;
      const size_t begin = line.find_first_not_of(" \t", colon + 1);
      return begin == std::string::npos ? std::string() : line.substr(begin);
    }
  return "";
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
          {"cpu", cpu_model()},
          {"logical_cpus", std::thread::hardware_concurrency()},
          {"started_utc", utc_now()},
          {"blas_threading", blas_threading()},
          {"blas_config", blas_config()},
          {"blas_kernel", blas_kernel()},
          {"blas_environment", blas_environment},
          // The product the convolutions and dense layers ran on (MATCOMP_GEMM can choose): like the
          // kernel, it moves the last bits of a result.
          {"gemm", layer_gemm_name(layer_gemm())}};
}

std::vector<std::string> sweep_revisions(const std::string& sweep_dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> records;
  if (fs::is_directory(sweep_dir))
    for (const auto& e : fs::directory_iterator(sweep_dir)) {
      const std::string name = e.path().filename().string();
      if (name.rfind("run-", 0) == 0 && e.path().extension() == ".json") records.push_back(e.path().string());
    }
  std::sort(records.begin(), records.end());
  std::vector<std::string> revisions;
  const auto add = [&](const nlohmann::json& r) {
    if (!r.is_object() || !r.contains("git_revision") || !r["git_revision"].is_string()) return;
    const std::string rev = r["git_revision"];
    if (std::find(revisions.begin(), revisions.end(), rev) == revisions.end()) revisions.push_back(rev);
  };
  for (const std::string& path : records) {
    const nlohmann::json r = nlohmann::json::parse(read_file(path), nullptr, /*allow_exceptions=*/false);
    if (!r.is_object()) continue;
    // The earlier runs came first.
    if (r.contains("earlier_runs") && r["earlier_runs"].is_array())
      for (const auto& e : r["earlier_runs"]) add(e);
    add(r);
  }
  return revisions;
}

}  // namespace mc
