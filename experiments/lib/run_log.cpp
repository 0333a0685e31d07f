#include "experiments/lib/run_log.h"

#include <algorithm>
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

std::vector<nlohmann::json> RunLog::read_csv(const std::string& path, const std::string& required_column) {
  const auto cells_of = [](const std::string& line) {
    std::vector<std::string> cells(1);
    for (char c : line) {
      if (c == ',') cells.emplace_back();
      else cells.back().push_back(c);
    }
    return cells;
  };
  std::istringstream in(read_file(path));
  std::string line;
  MC_CHECK(std::getline(in, line) && !line.empty(), IoError, path << ": no header line");
  const std::vector<std::string> header = cells_of(line);
  MC_CHECK(required_column.empty() || std::find(header.begin(), header.end(), required_column) != header.end(), IoError,
           path << ": no '" << required_column << "' column");
  std::vector<nlohmann::json> rows;
  for (int64_t number = 2; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    const std::vector<std::string> cells = cells_of(line);
    MC_CHECK(cells.size() <= header.size(), IoError, path << ":" << number << ": more cells than the header has columns");
    nlohmann::json row = nlohmann::json::object();
    for (size_t i = 0; i < cells.size(); ++i) {
      if (cells[i].empty()) continue;
      char* end = nullptr;
      const double v = std::strtod(cells[i].c_str(), &end);
      if (end == cells[i].c_str() + cells[i].size()) row[header[i]] = v;
      else row[header[i]] = cells[i];
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::optional<std::vector<nlohmann::json>> RunLog::read_either(const std::string& prefix) {
  if (std::filesystem::exists(prefix + ".jsonl")) return read(prefix + ".jsonl");
  if (std::filesystem::exists(prefix + ".csv")) return read_csv(prefix + ".csv");
  return std::nullopt;
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
