// A finished sweep's outputs: results.csv, the metric plots and the training curves around the
// compression event, drawn from the branches' results and logs.
#include "experiments/lib/sweep.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "matcomp/compression/schedule.h"
#include "experiments/plot/figure_files.h"
#include "experiments/lib/reference_points.h"
#include "experiments/lib/results_table.h"
#include "experiments/lib/run_info.h"
#include "experiments/lib/run_log.h"
#include "experiments/plot/svg_plot.h"

namespace fs = std::filesystem;

namespace mc {

namespace {

// The logged losses smoothed by an exponential moving average (weight 0.2 on each new logged
// loss, bias-corrected so the first points are not pulled towards 0), from step `from_step` on.
plot::Series smoothed_loss(const std::vector<nlohmann::json>& rows, const std::string& label, const std::string& method,
                           double from_step) {
  constexpr double kWeight = 0.2;
  plot::Series s;
  s.label = label;
  s.method = method;
  double average = 0, weight_sum = 0;
  for (const auto& row : rows) {
    if (!row.contains("loss") || !row["loss"].is_number()) continue;
    average = (1 - kWeight) * average + kWeight * row["loss"].get<double>();
    weight_sum = (1 - kWeight) * weight_sum + kWeight;
    const double step = row["step"].get<double>();
    if (step < from_step) continue;
    s.x.push_back(step);
    s.y.push_back(average / weight_sum);
  }
  s.marker_every = std::max<size_t>(1, s.x.size() / 5);  // a few markers: dense lines are told apart by dash and colour
  return s;
}

// The raw logged losses, drawn faint behind their smoothed curve.
plot::Series raw_loss(const std::vector<nlohmann::json>& rows, const std::string& method, double from_step) {
  plot::Series s;
  s.method = method;
  s.markers = false, s.in_legend = false, s.opacity = 0.25;
  for (const auto& row : rows)
    if (row.contains("loss") && row["loss"].is_number() && row["step"].get<double>() >= from_step)
      s.x.push_back(row["step"].get<double>()), s.y.push_back(row["loss"].get<double>());
  return s;
}

// The progress metric on the rows where it was evaluated; its name from the rows.
plot::Series evaluated_metric(const std::vector<nlohmann::json>& rows, const std::string& label, const std::string& method,
                              double from_step, std::string& metric_name) {
  plot::Series s;
  s.label = label;
  s.method = method;
  for (const auto& row : rows)
    if (row.contains("metric") && row["metric"].is_number() && row["step"].get<double>() >= from_step) {
      s.x.push_back(row["step"].get<double>());
      s.y.push_back(row["metric"].get<double>());
      if (row.contains("metric_name") && row["metric_name"].is_string()) metric_name = row["metric_name"];
    }
  return s;
}

// Short axis labels (paper figures are narrow): "test_accuracy_first_1000" -> "test accuracy
// (1000 img.)", "valid_perplexity" -> "validation perplexity".
std::string readable_metric_name(const std::string& name) {
  const std::string first = "test_accuracy_first_";
  if (name.rfind(first, 0) == 0) return "test accuracy (" + name.substr(first.size()) + " img.)";
  if (name == "valid_perplexity") return "validation perplexity";
  std::string out = name;
  std::replace(out.begin(), out.end(), '_', ' ');
  return out;
}

}  // namespace

void write_results(const std::string& out_dir, const ExperimentTask& task, const Preset& p,
                   const std::vector<std::string>& methods, const plot::PlotSize& plot_size) {
  const std::string metric = task.metric();
  const std::string title = task_title(task.name());
  // Perplexity on a log axis: its log is the loss, and bad points would flatten the rest.
  MetricPlots style{title, metric, p.name, !task.higher_is_better(), "", "uncompressed"};
  style.size = plot_size;
  style.references = reference_points(task.name(), p.name);
  if (!fs::is_directory(out_dir + "/branches")) {
    // A published sweep (docs/results/) keeps results.csv but not its branches: the metric
    // plots are redrawn from the table; the training curves need the branches' logs.
    const std::vector<nlohmann::json> rows = read_results_csv(out_dir + "/results.csv");
    write_metric_plots(out_dir, rows, style);
    std::fprintf(stderr, "%s has no branches/: redrew the %s plots from results.csv (not the training curves)\n",
                 out_dir.c_str(), metric.c_str());
    return;
  }
  const std::vector<nlohmann::json> results = read_branch_results(out_dir, methods);
  const std::vector<std::string> columns{"method", "ratio", "achieved_ratio", "stored_bytes", "dense_bytes", "disk_bytes",
                                         metric, "infer_ms", "final_loss", "steps", "train_seconds", "revision"};
  write_results_csv(out_dir + "/results.csv", results, columns);
  std::printf("%s", format_results_table(results, columns).c_str());
  const std::vector<std::string> revisions = sweep_revisions(out_dir);
  if (revisions.size() > 1) {
    std::string list;
    for (const std::string& r : revisions) list += (list.empty() ? "" : ", ") + r;
    std::printf("note: this sweep was trained by %zu revisions (%s); each branch's is in the revision column, every "
                "process's in the run records (run-*.json)\n",
                revisions.size(), list.c_str());
  }
  std::fflush(stdout);
  write_metric_plots(out_dir, results, style);

  // Training curves around the compression event: the end of the shared prefix (as long as a
  // branch) once, then the baseline and every method at the ratio nearest 0.25. Above: the
  // training loss (smoothed, raw values faint behind); below: the metric evaluated during
  // training (--eval-every), when the logs have it. The compression window is shaded: from
  // the first compression event to the step alpha reaches 0 (or pruning its final sparsity).
  plot::Figure loss, evaluated;
  loss.title = title + ": training around the compression event (" + p.name + ")";
  loss.x_label = evaluated.x_label = "step";
  loss.y_label = "training loss (EMA)";
  evaluated.log_y = !task.higher_is_better();
  std::string metric_name;
  const double shown_from = static_cast<double>(p.begin_step - (p.total_steps - p.begin_step));
  const auto add = [&](const std::vector<nlohmann::json>& rows, const std::string& label, const std::string& method, double from) {
    loss.series.push_back(raw_loss(rows, method, from));
    loss.series.push_back(smoothed_loss(rows, label, method, from));
    evaluated.series.push_back(evaluated_metric(rows, label, method, from, metric_name));
  };
  // The logs as JSONL, or as CSV in a published sweep (docs/results/ keeps only log.csv); a
  // branch without either is left out of the figure, saying so.
  const auto log_of = [&](const std::string& dir) {
    std::optional<std::vector<nlohmann::json>> rows = RunLog::read_either(dir + "/log");
    if (!rows) std::fprintf(stderr, "training curves: %s has no log.jsonl or log.csv: left out of the figure\n", dir.c_str());
    return rows.value_or(std::vector<nlohmann::json>{});
  };
  if (fs::is_directory(out_dir + "/prefix")) add(log_of(out_dir + "/prefix"), "shared prefix", "prefix", shown_from);
  // The target ratio nearest 0.25 (on a log scale) among the finished branches.
  double shown_ratio = 0;
  bool pruned = false;
  for (const auto& r : results) {
    const double ratio = r["ratio"].get<double>();
    if (r["method"] != "none" && (shown_ratio == 0 || std::fabs(std::log(ratio / 0.25)) < std::fabs(std::log(shown_ratio / 0.25))))
      shown_ratio = ratio;
  }
  for (const auto& r : results) {
    const std::string m = r["method"];
    if (m != "none" && r["ratio"].get<double>() != shown_ratio) continue;
    pruned = pruned || is_prune(m) || m == kMixed;
    const std::string id = m == "none" ? "none" : Branch{m, r["ratio"].get<double>()}.id();
    add(log_of(branch_dir(out_dir, id)), m == "none" ? "uncompressed" : id, m, 0);
  }
  const int64_t blend_end = BlendSchedule{p.begin_step, -1, p.frequency, p.alpha_decrement}.switch_step();
  const double window_end = static_cast<double>(std::max(blend_end, pruned ? p.prune_end_step : int64_t{0}));
  loss.bands.push_back({"compression", static_cast<double>(p.begin_step), std::max(window_end, static_cast<double>(p.begin_step))});
  evaluated.bands = loss.bands;
  plot_size.apply(loss);
  plot_size.apply(evaluated);
  std::vector<plot::Figure> panels{loss};
  const bool has_metric = std::any_of(evaluated.series.begin(), evaluated.series.end(), [](const plot::Series& s) { return !s.x.empty(); });
  if (has_metric) {
    evaluated.y_label = readable_metric_name(metric_name);
    // The lower panel's legend names the curves of both, so the loss panel keeps its height.
    for (auto& s : panels[0].series) s.in_legend = false;
    panels[0].height *= 0.8;
    panels.push_back(evaluated);
  }
  plot::write_svg_and_pdf(out_dir + "/training_curves.svg", plot::render_svg(panels));
}

}  // namespace mc
