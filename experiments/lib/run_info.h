// What every experiment run records about itself: the command, seed, git revision, machine,
// threads, BLAS threading, start time.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mc {

nlohmann::json run_info(int argc, char** argv, uint64_t seed, int threads);
// The revision the binary was built from (cli::git_revision(): taken at build time, not from
// the checkout at run time, which may have moved on since the build).
std::string git_revision();
std::string utc_now();       // ISO 8601

// Every git revision named by the run records of the sweep in sweep_dir (run-*.json and the
// earlier runs each keeps), in order of first appearance; records that cannot be read are
// skipped.
std::vector<std::string> sweep_revisions(const std::string& sweep_dir);

}  // namespace mc
