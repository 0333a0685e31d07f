// Machine-readable training logs: one JSON object per line (JSONL) and the same rows as CSV,
// appended and flushed as training goes, so a killed run keeps everything it logged. On
// resume, rows past the resume step are dropped first, so the log never holds a step twice.
#pragma once

#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mc {

class RunLog {
 public:
  // Writes <prefix>.jsonl and <prefix>.csv with the given CSV columns (in order).
  RunLog(std::string prefix, std::vector<std::string> columns);
  // Keeps only rows whose "step" is < step (call before appending after a resume).
  void truncate_from(int64_t step);
  void append(const nlohmann::json& row);
  // Reads back every row of a JSONL file (for plots and resumed sweeps).
  static std::vector<nlohmann::json> read(const std::string& jsonl_path);
  // The rows of a CSV file with a header line (a log's, or results.csv): numeric cells as
  // numbers, the others as strings, empty cells left out. IoError naming the file for a missing
  // header, a header without `required_column` (when one is named) or a row with more cells
  // than the header has columns.
  static std::vector<nlohmann::json> read_csv(const std::string& csv_path, const std::string& required_column = "");
  // The rows of the log written under `prefix`: <prefix>.jsonl, or <prefix>.csv where only that
  // is kept (a published sweep keeps the CSV); nullopt where neither file exists.
  static std::optional<std::vector<nlohmann::json>> read_either(const std::string& prefix);

 private:
  void rewrite(const std::vector<nlohmann::json>& rows);
  std::string prefix_;
  std::vector<std::string> columns_;
  std::ofstream jsonl_, csv_;
};

std::string csv_cell(const nlohmann::json& value);  // numbers as is, strings quoted when needed

// A float as the double with the same shortest decimal, for logs: 0.1f becomes 0.1, not
// 0.10000000149011612 (what widening the float's bits to a double would print).
double float_for_log(float v);

}  // namespace mc
