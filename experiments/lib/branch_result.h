// A branch's result.json is trusted only when it parses, holds every field the results table
// reads, names the branch it sits in and carries this sweep's fingerprint id. Anything else
// (a file damaged on disk, hand-edited, or left by another sweep) is not a result.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mc {

// The fields every result.json holds besides the task's metric.
const std::vector<std::string>& result_fields();

// Why `result` is not a valid result of branch (method, ratio) with this metric and
// fingerprint id (an empty id: any); empty when it is.
std::string result_problem(const nlohmann::json& result, const std::string& metric, const std::string& method, double ratio,
                           const std::string& fingerprint);

// Reads and parses a result.json; IoError naming the file when it cannot be read or parsed.
nlohmann::json read_result_file(const std::string& path);

}  // namespace mc
