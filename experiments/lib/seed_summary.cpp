#include "experiments/lib/seed_summary.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>
#include <utility>

#include "matcomp/core/error.h"
#include "experiments/lib/reference_points.h"
#include "experiments/lib/results_table.h"

namespace fs = std::filesystem;

namespace mc {

namespace {

// Mean and sample standard deviation (n - 1; 0 for one value).
std::pair<double, double> mean_and_std(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  const double mean = sum / static_cast<double>(v.size());
  double squares = 0;
  for (double x : v) squares += (x - mean) * (x - mean);
  return {mean, v.size() > 1 ? std::sqrt(squares / static_cast<double>(v.size() - 1)) : 0.0};
}

// Both entry points take the list as given (a repeated seed would count its sweep twice).
void check_seeds(const std::vector<uint64_t>& seeds) {
  MC_CHECK(!seeds.empty(), ValueError, "--seeds: give at least one seed");
  for (size_t i = 0; i < seeds.size(); ++i)
    for (size_t j = 0; j < i; ++j) MC_CHECK(seeds[i] != seeds[j], ValueError, "--seeds: seed " << seeds[i] << " is listed twice");
}

// The summary plots' look: the mean with error bars of one standard deviation.
MetricPlots summary_style(const std::vector<uint64_t>& seeds, const ExperimentTask& task, const Preset& preset,
                          const plot::PlotSize& plot_size) {
  const std::string metric = task.metric();
  std::ostringstream over;
  over << preset.name << ", " << seeds.size() << " seeds: mean \u00b1 std";
  MetricPlots style{task_title(task.name()), metric, over.str(), !task.higher_is_better(), metric + "_std", "uncompressed (mean)"};
  style.size = plot_size;
  style.references = reference_points(task.name(), preset.name);
  return style;
}

// The summary over seeds from each seed's finished branches (their own files already written).
void summarise(const std::string& out_dir, const std::vector<uint64_t>& seeds, const ExperimentTask& task,
               const Preset& preset, const plot::PlotSize& plot_size) {
  const std::string metric = task.metric();
  // (method, ratio) -> the finished branches of every seed, in the order of `seeds`.
  std::map<std::pair<std::string, double>, std::vector<std::pair<uint64_t, nlohmann::json>>> groups;
  for (uint64_t seed : seeds)
    for (const nlohmann::json& r : read_branch_results(seed_dir(out_dir, seed)))
      groups[{r["method"], r["ratio"].get<double>()}].emplace_back(seed, r);
  // Each seed's uncompressed metric: a method's change against it, seed by seed, is paired
  // (same prefix, same data order), and its spread is often smaller than the metric's own.
  std::map<uint64_t, double> baseline;
  for (const auto& [key, runs] : groups)
    if (key.first == "none")
      for (const auto& [seed, r] : runs) baseline[seed] = r[metric].get<double>();
  std::vector<nlohmann::json> rows;
  for (const auto& [key, runs] : groups) {
    const auto column = [&](const char* col) {
      std::vector<double> v;
      for (const auto& run : runs) v.push_back(run.second[col].get<double>());
      return v;
    };
    nlohmann::json row = {{"method", key.first}, {"ratio", key.second}, {"seeds", runs.size()}, {"steps", runs[0].second["steps"]}};
    for (const char* col : {"achieved_ratio", "infer_ms", "final_loss", "train_seconds"}) row[col] = mean_and_std(column(col)).first;
    for (const char* col : {"stored_bytes", "dense_bytes", "disk_bytes"})  // whole bytes, not 1.056e+07
      row[col] = std::llround(mean_and_std(column(col)).first);
    const std::vector<double> values = column(metric.c_str());
    std::ostringstream per_seed;  // "1:0.8405 2:0.8391" (spaces: one CSV cell)
    per_seed.precision(7);
    for (size_t i = 0; i < runs.size(); ++i) per_seed << (i ? " " : "") << runs[i].first << ":" << values[i];
    const auto [mean, std_dev] = mean_and_std(values);
    row[metric] = mean;
    row[metric + "_min"] = *std::min_element(values.begin(), values.end());
    row[metric + "_max"] = *std::max_element(values.begin(), values.end());
    row[metric + "_per_seed"] = per_seed.str();
    if (runs.size() > 1) row[metric + "_std"] = std_dev;  // undefined for one seed
    std::vector<double> changes;
    for (size_t i = 0; i < runs.size(); ++i)
      if (key.first != "none" && baseline.count(runs[i].first)) changes.push_back(values[i] - baseline[runs[i].first]);
    if (!changes.empty()) {
      const auto [change, change_std] = mean_and_std(changes);
      row[metric + "_vs_none"] = change;
      if (changes.size() > 1) row[metric + "_vs_none_std"] = change_std;
    }
    rows.push_back(row);
  }
  sort_results(rows);
  fs::create_directories(out_dir);
  write_results_csv(out_dir + "/results.csv", rows,
                    {"method", "ratio", "seeds", "achieved_ratio", "stored_bytes", "dense_bytes", "disk_bytes", metric,
                     metric + "_std", metric + "_min", metric + "_max", metric + "_per_seed", metric + "_vs_none",
                     metric + "_vs_none_std", "infer_ms", "final_loss", "steps", "train_seconds"});
  write_metric_plots(out_dir, rows, summary_style(seeds, task, preset, plot_size));
}

}  // namespace

std::string seed_dir(const std::string& out_dir, uint64_t seed) { return out_dir + "/seed-" + std::to_string(seed); }

void run_seed_sweeps(ExperimentTask& task, const SweepOptions& options, const std::vector<uint64_t>& seeds) {
  check_seeds(seeds);
  const bool writes = !options.data_parallel || options.data_parallel->is_root();
  for (uint64_t seed : seeds) {
    SweepOptions one = options;
    one.out_dir = seed_dir(options.out_dir, seed);
    one.seed = seed;
    one.run_info["seed"] = seed;
    if (writes) std::fprintf(stderr, "seed %llu: %s\n", static_cast<unsigned long long>(seed), one.out_dir.c_str());
    run_sweep(task, one);
  }
  // run_sweep has written each seed's own results.csv and plots.
  if (options.write_results && writes) summarise(options.out_dir, seeds, task, options.preset, options.plot_size);
}

void write_seed_summary(const std::string& out_dir, const std::vector<uint64_t>& seeds, const ExperimentTask& task,
                        const Preset& preset, const plot::PlotSize& plot_size) {
  check_seeds(seeds);
  std::vector<uint64_t> without_branches;
  for (uint64_t seed : seeds) {
    if (fs::exists(seed_dir(out_dir, seed))) write_results(seed_dir(out_dir, seed), task, preset, {}, plot_size);
    if (!fs::is_directory(seed_dir(out_dir, seed) + "/branches")) without_branches.push_back(seed);
  }
  if (without_branches.empty()) return summarise(out_dir, seeds, task, preset, plot_size);
  // A published summary (docs/results/) keeps the seeds' tables but not their branches: the
  // summary is redrawn from its own results.csv, never rewritten from nothing.
  std::string missing;
  for (uint64_t seed : without_branches) missing += (missing.empty() ? "" : ", ") + std::to_string(seed);
  const std::string summary = out_dir + "/results.csv";
  MC_CHECK(fs::exists(summary), IoError,
           "cannot summarise the seeds: seed " << missing << " has no branches/ in " << out_dir << " and there is no " << summary
                                               << " to redraw from");
  write_metric_plots(out_dir, read_results_csv(summary), summary_style(seeds, task, preset, plot_size));
  std::fprintf(stderr, "seed %s has no branches/: redrew the summary plots from %s (kept as it is)\n", missing.c_str(),
               summary.c_str());
}

}  // namespace mc
