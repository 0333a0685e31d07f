// What every experiment run records about itself: the command, seed, git revision, machine,
// threads, BLAS threading, start time.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace mc {

nlohmann::json run_info(int argc, char** argv, uint64_t seed, int threads);
std::string git_revision();  // "unknown" outside a checkout
std::string utc_now();       // ISO 8601

}  // namespace mc
