#include "experiments/lib/results_table.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>

#include "matcomp/core/atomic_file.h"
#include "matcomp/core/error.h"
#include "experiments/lib/branch_result.h"
#include "experiments/plot/figure_files.h"
#include "experiments/lib/run_log.h"
#include "experiments/plot/svg_plot.h"
#include "experiments/lib/sweep_fingerprint.h"
#include "experiments/lib/sweep.h"

namespace fs = std::filesystem;

namespace mc {

std::string task_title(const std::string& task_name) { return task_name == "cifar10" ? "CIFAR-10" : "PTB"; }

std::vector<nlohmann::json> read_branch_results(const std::string& sweep_dir, const std::vector<std::string>& method_order) {
  std::vector<nlohmann::json> rows;
  // Results made by this sweep only: fingerprint.json's id (folders from before fingerprints: any).
  const std::string fp_path = sweep_dir + "/fingerprint.json";
  const std::string fingerprint =
      fs::exists(fp_path) ? fingerprint_id(nlohmann::json::parse(read_file(fp_path), nullptr, false)) : std::string();
  if (fs::exists(sweep_dir + "/branches"))
    for (const auto& entry : fs::directory_iterator(sweep_dir + "/branches")) {
      const std::string path = (entry.path() / "result.json").string();
      if (!fs::exists(path)) continue;
      nlohmann::json r = read_result_file(path);
      MC_CHECK(r.is_object() && r.contains("method") && r["method"].is_string() && r.contains("ratio") && r["ratio"].is_number(),
               IoError, path << " is damaged (no method or ratio); run the sweep again (without --results-only) to recompute it");
      MC_CHECK(fingerprint.empty() || r.value("fingerprint", std::string()) == fingerprint, IoError,
               path << " was not made by the sweep in " << sweep_dir << " (its fingerprint differs from fingerprint.json's)");
      rows.push_back(std::move(r));
    }
  sort_results(rows, method_order);
  return rows;
}

void sort_results(std::vector<nlohmann::json>& rows, const std::vector<std::string>& method_order) {
  const std::vector<std::string>& order = method_order.empty() ? all_methods() : method_order;
  const auto rank = [&](const std::string& m) {  // none, then the given order, then the rest
    if (m == "none") return -1L;
    return static_cast<long>(std::find(order.begin(), order.end(), m) - order.begin());
  };
  std::stable_sort(rows.begin(), rows.end(), [&](const nlohmann::json& a, const nlohmann::json& b) {
    const std::string ma = a["method"], mb = b["method"];
    if (rank(ma) != rank(mb)) return rank(ma) < rank(mb);
    if (ma != mb) return ma < mb;
    return a["ratio"].get<double>() > b["ratio"].get<double>();
  });
}

std::string format_results_table(const std::vector<nlohmann::json>& rows, const std::vector<std::string>& columns) {
  std::vector<std::vector<std::string>> cells{columns};
  for (const auto& r : rows) {
    std::vector<std::string> line;
    for (const std::string& c : columns) line.push_back(r.contains(c) ? csv_cell(r[c]) : "");
    cells.push_back(line);
  }
  std::vector<size_t> width(columns.size(), 0);
  for (const auto& line : cells)
    for (size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], line[i].size());
  std::string out;
  for (const auto& line : cells) {
    for (size_t i = 0; i < line.size(); ++i) {
      out += line[i];
      if (i + 1 < line.size()) out += std::string(width[i] - line[i].size() + 2, ' ');
    }
    out += '\n';
  }
  return out;
}

void write_results_csv(const std::string& path, const std::vector<nlohmann::json>& rows,
                       const std::vector<std::string>& columns) {
  std::string csv;
  for (size_t i = 0; i < columns.size(); ++i) csv += (i ? "," : "") + columns[i];
  csv += '\n';
  for (const auto& r : rows) {
    for (size_t i = 0; i < columns.size(); ++i) {
      if (i) csv += ',';
      if (r.contains(columns[i])) csv += csv_cell(r[columns[i]]);
    }
    csv += '\n';
  }
  write_file_atomically(path, csv);
}

std::vector<nlohmann::json> read_results_csv(const std::string& path) { return RunLog::read_csv(path, "method"); }

void write_metric_plots(const std::string& out_dir, const std::vector<nlohmann::json>& rows, const MetricPlots& style) {
  const std::string& metric = style.metric;
  const auto error_of = [&](const nlohmann::json& r) {
    return !style.error_key.empty() && r.contains(style.error_key) ? r[style.error_key].get<double>() : 0.0;
  };
  std::map<std::string, plot::Series> by_ratio, by_disk;
  std::vector<std::string> order;  // the methods as the rows give them (the sweep's order): the legend's order
  std::vector<plot::Line> baseline;
  plot::Series baseline_point{style.baseline_label, {}, {}, {}};
  baseline_point.method = "none";
  for (const auto& r : rows) {
    const std::string m = r["method"];
    const double value = r[metric].get<double>(), disk_mb = r["disk_bytes"].get<double>() / 1e6;
    if (m == "none") {
      baseline.push_back({style.baseline_label, value});
      baseline_point.x.push_back(disk_mb), baseline_point.y.push_back(value), baseline_point.y_err.push_back(error_of(r));
      continue;
    }
    if (!by_ratio.count(m)) order.push_back(m);
    for (auto* series : {&by_ratio[m], &by_disk[m]}) {
      series->label = m;
      series->method = m;  // the method's own style in every figure
      series->y.push_back(value);
      series->y_err.push_back(error_of(r));
    }
    by_ratio[m].x.push_back(r["achieved_ratio"].get<double>());
    by_disk[m].x.push_back(disk_mb);
  }
  plot::Figure vs_ratio{style.task_title + ": " + metric + " vs compression ratio (" + style.preset_name + ")",
                        "stored size of the compressed layers / dense size", metric, true, {}, baseline, {}};
  vs_ratio.log_y = style.log_y;
  vs_ratio.references = style.references;
  style.size.apply(vs_ratio);
  for (const std::string& m : order) vs_ratio.series.push_back(by_ratio[m]);
  plot::write_figure(out_dir + "/" + metric + "_vs_ratio.svg", vs_ratio);
  plot::Figure vs_disk{style.task_title + ": " + metric + " vs model size on disk (" + style.preset_name + ")",
                       "exported model file (MB)", metric, true, {}, {}, {}};
  vs_disk.log_y = style.log_y;
  style.size.apply(vs_disk);
  for (const std::string& m : order) vs_disk.series.push_back(by_disk[m]);
  if (!baseline_point.x.empty()) vs_disk.series.push_back(baseline_point);
  plot::write_figure(out_dir + "/" + metric + "_vs_disk.svg", vs_disk);
}

}  // namespace mc
