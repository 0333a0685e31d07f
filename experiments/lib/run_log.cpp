#include "experiments/lib/run_log.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "matcomp/core/atomic_file.h"
#include "matcomp/core/error.h"

namespace mc {

double float_for_log(float v) {
  if (!std::isfinite(v)) return static_cast<double>(v);
  char text[32];
  const auto [end, ec] = std::to_chars(text, text + sizeof(text) - 1, v);  // shortest round-trip form
  *end = '\0';
  return std::strtod(text, nullptr);
}

std::string csv_cell(const nlohmann::json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  }
  if (v.is_number_float()) {
    std::ostringstream o;
    o.precision(7);
    o << v.get<double>();
    return o.str();
  }
  return v.dump();
}

RunLog::RunLog(std::string prefix, std::vector<std::string> columns) : prefix_(std::move(prefix)), columns_(std::move(columns)) {
  std::filesystem::path p(prefix_);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
  const bool fresh = !std::filesystem::exists(prefix_ + ".jsonl");
  if (fresh) rewrite({});
  jsonl_.open(prefix_ + ".jsonl", std::ios::app);
  csv_.open(prefix_ + ".csv", std::ios::app);
  MC_CHECK(jsonl_ && csv_, IoError, "cannot open the run log " << prefix_ << ".jsonl/.csv for appending");
}

std::vector<nlohmann::json> RunLog::read(const std::string& path) {
  std::vector<nlohmann::json> rows;
  std::ifstream in(path);
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    try {
      rows.push_back(nlohmann::json::parse(line));
    } catch (const nlohmann::json::exception&) {
      // A run killed mid-write can leave a partial last line; anything else is corruption.
      if (in.peek() != EOF) throw IoError(path + ": line " + std::to_string(n) + " is not valid JSON");
    }
  }
  return rows;
}

void RunLog::rewrite(const std::vector<nlohmann::json>& rows) {
  std::string jsonl, csv;
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (i) csv += ',';
    csv += columns_[i];
  }
  csv += "\n";
  for (const auto& r : rows) {
    jsonl += r.dump() + "\n";
    for (size_t i = 0; i < columns_.size(); ++i) {
      if (i) csv += ',';
      if (r.contains(columns_[i])) csv += csv_cell(r[columns_[i]]);
    }
    csv += "\n";
  }
  write_file_atomically(prefix_ + ".jsonl", jsonl);
  write_file_atomically(prefix_ + ".csv", csv);
}

void RunLog::truncate_from(int64_t step) {
  jsonl_.close();
  csv_.close();
  std::vector<nlohmann::json> keep;
  for (auto& r : read(prefix_ + ".jsonl"))
    if (r.value("step", int64_t{0}) < step) keep.push_back(std::move(r));
  rewrite(keep);
  jsonl_.open(prefix_ + ".jsonl", std::ios::app);
  csv_.open(prefix_ + ".csv", std::ios::app);
}

void RunLog::append(const nlohmann::json& row) {
  jsonl_ << row.dump() << "\n";
  for (size_t i = 0; i < columns_.size(); ++i) csv_ << (i ? "," : "") << (row.contains(columns_[i]) ? csv_cell(row[columns_[i]]) : "");
  csv_ << "\n";
  jsonl_.flush();
  csv_.flush();
  MC_CHECK(jsonl_ && csv_, IoError, "writing the run log " << prefix_ << " failed (disk full?)");
}

}  // namespace mc
