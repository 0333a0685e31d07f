// A finished sweep's results as rows (one json object per branch, or per branch summed over
// seeds), written as results.csv and drawn as the metric-vs-ratio and metric-vs-disk plots.
// The single-seed sweep and the summary over seeds share these.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/plot/svg_plot.h"

namespace mc {

// "CIFAR-10", "PTB": the task as plot titles name it.
std::string task_title(const std::string& task_name);

// sweep_dir/branches/*/result.json, in the table's order (see sort_results).
std::vector<nlohmann::json> read_branch_results(const std::string& sweep_dir,
                                                const std::vector<std::string>& method_order = {});

// The sweep's order: baseline ("none") first, then the methods in method_order (empty: the
// sweep's default list, all_methods()), methods not in it after them by name; within a
// method, descending target ratio.
void sort_results(std::vector<nlohmann::json>& rows, const std::vector<std::string>& method_order = {});

// The same rows and columns as results.csv, aligned for a terminal.
std::string format_results_table(const std::vector<nlohmann::json>& rows, const std::vector<std::string>& columns);

// The rows of a results.csv written by write_results_csv: numeric cells as numbers, the others
// as strings, empty cells left out. IoError naming the file for a missing header, a row with
// more cells than the header, or no "method" column.
std::vector<nlohmann::json> read_results_csv(const std::string& path);

// A header line, then one line per row with the given columns (a key the row lacks: empty cell).
void write_results_csv(const std::string& path, const std::vector<nlohmann::json>& rows,
                       const std::vector<std::string>& columns);

struct MetricPlots {
  std::string task_title;   // "CIFAR-10"
  std::string metric;       // the rows' key: "accuracy", "perplexity"
  std::string preset_name;  // in the titles
  bool log_y = false;
  std::string error_key;    // non-empty: error bars of +-row[error_key] (rows without it: none)
  std::string baseline_label = "uncompressed";
  plot::PlotSize size = {};
  std::vector<plot::Reference> references = {};  // published points, on the plot against the ratio
};

// out_dir/<metric>_vs_ratio.svg (against the achieved ratio, baseline as a line) and
// out_dir/<metric>_vs_disk.svg (against the exported file's MB, baseline as a point), each
// also as .pdf when a converter is installed (figure_files.h).
void write_metric_plots(const std::string& out_dir, const std::vector<nlohmann::json>& rows, const MetricPlots& style);

}  // namespace mc
