#include "experiments/lib/sweep.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "matcomp/compression/export.h"
#include "matcomp/compression/registry.h"
#include "matcomp/core/atomic_file.h"
#include "matcomp/core/error.h"
#include "matcomp/core/progress.h"
#include "matcomp/distributed/model_sync.h"
#include "experiments/lib/results_table.h"
#include "experiments/lib/run_log.h"
#include "experiments/lib/svg_plot.h"

namespace fs = std::filesystem;

namespace mc {

std::vector<std::string> all_methods() {
  // The registry's methods, plus pruning with gradient scores as its own branch.
  std::vector<std::string> methods = registered_methods();
  if (std::find(methods.begin(), methods.end(), "prune") != methods.end()) methods.push_back("prune_grad");
  return methods;
}

std::vector<LayerMethod> parse_layer_methods(const std::vector<std::string>& layers) {
  std::vector<LayerMethod> out;
  size_t with_method = 0;
  for (const std::string& entry : layers) with_method += entry.find('=') != std::string::npos;
  if (with_method == 0) return out;
  MC_CHECK(with_method == layers.size(), ValueError,
           "--layers: when one entry names a method (pattern=method:ratio), every entry must; got '" << [&] {
             std::string s;
             for (const auto& l : layers) s += (s.empty() ? "" : ",") + l;
             return s;
           }() << "'");
  const std::vector<std::string> known = all_methods();
  for (const std::string& entry : layers) {
    const size_t eq = entry.find('='), colon = entry.find(':', eq);
    MC_CHECK(eq > 0 && colon != std::string::npos && colon > eq + 1 && colon + 1 < entry.size(), ValueError,
             "--layers: '" << entry << "' is not pattern=method:ratio (e.g. local3.weight=lowrank:0.25)");
    LayerMethod lm{entry.substr(0, eq), entry.substr(eq + 1, colon - eq - 1), 0.0};
    const std::string ratio = entry.substr(colon + 1);
    char* end = nullptr;
    lm.ratio = std::strtod(ratio.c_str(), &end);
    MC_CHECK(end != ratio.c_str() && *end == '\0' && lm.ratio > 0 && lm.ratio < 1, ValueError,
             "--layers: '" << entry << "': ratio '" << ratio << "' must be a number in (0, 1)");
    MC_CHECK(std::find(known.begin(), known.end(), lm.method) != known.end(), ValueError,
             "--layers: '" << entry << "': unknown method '" << lm.method << "' (known: " << [&] {
               std::string s;
               for (const auto& m : known) s += (s.empty() ? "" : ", ") + m;
               return s;
             }() << ")");
    // "local3" is short for the layer's weight seam "local3.weight".
    if (lm.pattern.size() < 7 || lm.pattern.compare(lm.pattern.size() - 7, 7, ".weight") != 0) lm.pattern += ".weight";
    out.push_back(std::move(lm));
  }
  return out;
}

std::string Branch::id() const {
  if (method == "none" || method == kMixed) return method;
  std::ostringstream o;
  o << method << "-" << ratio;
  return o.str();
}

std::vector<Branch> make_branches(const std::vector<std::string>& methods, const std::vector<double>& ratios) {
  std::vector<Branch> out{{"none", 1.0}};
  const std::vector<std::string> known = all_methods();
  std::string known_list;
  for (const auto& m : known) known_list += (known_list.empty() ? "" : ", ") + m;
  for (const std::string& m : methods.empty() ? known : methods) {
    if (m == "none") continue;
    MC_CHECK(std::find(known.begin(), known.end(), m) != known.end(), ValueError,
             "unknown method '" << m << "' (known: " << known_list << ")");
    for (double r : ratios) {
      MC_CHECK(r > 0 && r < 1, ValueError, "ratio " << r << " must be in (0, 1)");
      out.push_back({m, r});
    }
  }
  return out;
}

namespace {

const std::vector<std::string> kLogColumns{"step", "loss", "lr", "alpha", "stored_bytes", "metric", "seconds"};

bool is_prune(const std::string& method) { return method == "prune" || method == "prune_grad"; }

// The compression spec of one branch.
CompressionSpec spec_for(const Branch& b, const std::vector<std::string>& layers, const Preset& p) {
  CompressionSpec spec;
  const SparsitySchedule pruning{p.begin_step, std::max(p.prune_end_step, p.begin_step + 1), p.frequency, 0.0, -1.0};
  spec.schedule = BlendSchedule{p.begin_step, -1, p.frequency, p.alpha_decrement};
  if (b.method == kMixed) {
    // A rule per layer; pruned layers share the sparsity schedule and one kind of score.
    for (const LayerMethod& lm : parse_layer_methods(layers)) {
      spec.rules.push_back({{lm.pattern}, {}, by_ratio(is_prune(lm.method) ? "prune" : lm.method, lm.ratio), ""});
      if (!is_prune(lm.method)) continue;
      const auto score = lm.method == "prune_grad" ? PruningScore::Kind::Gradient : PruningScore::Kind::Magnitude;
      MC_CHECK(!spec.pruning || spec.score == score, ValueError,
               "--layers: prune and prune_grad cannot be mixed in one run (one kind of pruning score per run)");
      spec.pruning = pruning;
      spec.score = score;
    }
    return spec;
  }
  spec.include = layers;
  if (is_prune(b.method)) {
    spec.compressor = by_ratio("prune", b.ratio);
    // Final sparsity: each matrix's own, derived from the ratio with its mask bits counted.
    spec.pruning = pruning;
    spec.score = b.method == "prune_grad" ? PruningScore::Kind::Gradient : PruningScore::Kind::Magnitude;
  } else {
    spec.compressor = by_ratio(b.method, b.ratio);
  }
  return spec;
}

int64_t selected_dense_bytes(const Module& model, const std::vector<std::string>& layers) {
  int64_t total = 0;
  for (const std::string& name : select_weights(model, layers)) {
    auto w = std::dynamic_pointer_cast<Weight>(model.module(name));
    total += 4 * w->rows() * w->cols();
  }
  return total;
}

// Data parallelism seen from the sweep: who writes, and agreeing on what rank 0 sees on disk.
struct Ranks {
  Communicator* comm = nullptr;  // null: alone
  bool writes() const { return !comm || comm->is_root(); }
  // Rank 0's answer on every rank (a file another rank sees may lag on a network file system).
  bool agree(bool rank0_value) const {
    if (!comm) return rank0_value;
    unsigned char v = rank0_value ? 1 : 0;
    comm->broadcast(&v, 1, 0);
    return v != 0;
  }
  void wait() const {
    if (comm) comm->barrier();
  }
};

// Where a branch keeps its log, checkpoint, model and result.
std::string branch_dir(const std::string& out_dir, const std::string& id) { return out_dir + "/branches/" + id; }

// Trains [start, end) with logging (log may be null: not this rank's job), periodic
// checkpoints and progress. Returns the last loss.
float train_range(ExperimentTask& task, CompressionController* compression, int64_t start, int64_t end, const Preset& p,
                  RunLog* log, const std::string& checkpoint, const std::string& label, int64_t dense_bytes,
                  const Ranks& ranks) {
  Progress progress(label, end - start);
  float loss = NAN;
  for (int64_t step = start; step < end; ++step) {
    if (compression && compression->before_step(step) && ranks.comm)
      sync_after_compression(*ranks.comm, task.model());  // bit-identical factors on every rank
    loss = task.train_step(step, compression);
    const bool last = step + 1 == end;
    if (log && (step % p.log_every == 0 || last)) {
      nlohmann::json row = {{"step", step}, {"loss", loss}, {"lr", task.learning_rate(step)}, {"seconds", progress.elapsed_seconds()}};
      if (compression) {
        const auto report = compression->report();
        double alpha = 0;
        for (const auto& r : report) alpha += r.alpha / static_cast<double>(report.size());
        row["alpha"] = alpha;
        row["stored_bytes"] = compression->report_json()["selected_stored_bytes"];
      } else {
        row["alpha"] = 1.0;
        row["stored_bytes"] = dense_bytes;
      }
      log->append(row);
    }
    if (ranks.writes()) progress.update(step + 1 - start, "loss " + std::to_string(loss));
    if (!checkpoint.empty() && (step + 1) % p.checkpoint_every == 0 && !last) {
      task.save(checkpoint, step + 1);
    }
  }
  if (ranks.writes()) progress.finish("loss " + std::to_string(loss));
  return loss;
}

}  // namespace

void run_sweep(ExperimentTask& task, const SweepOptions& o) {
  const Preset& p = o.preset;
  MC_CHECK(p.begin_step > 0 && p.total_steps > p.begin_step, ValueError,
           "preset " << p.name << ": need 0 < begin_step < total_steps");
  MC_CHECK(o.shards >= 1 && o.shard >= 0 && o.shard < o.shards, ValueError,
           "--branch " << o.shard << " --of " << o.shards << ": need 0 <= K < N");
  const std::vector<std::string> layers = o.layers.empty() ? task.default_layers() : o.layers;
  // Per-layer methods ("local3=lowrank:0.25,..."): the baseline and one mixed branch.
  const std::vector<LayerMethod> layer_methods = parse_layer_methods(layers);
  std::vector<std::string> patterns;
  for (const LayerMethod& lm : layer_methods) patterns.push_back(lm.pattern);
  const std::vector<std::string>& selected = layer_methods.empty() ? layers : patterns;
  MC_CHECK(layer_methods.empty() || o.methods.empty(), ValueError,
           "--only does not combine with per-layer methods in --layers (they already name each layer's method)");
  const Ranks ranks{o.data_parallel && o.data_parallel->size() > 1 ? o.data_parallel : nullptr};
  const bool writes = ranks.writes();
  if (writes) fs::create_directories(o.out_dir);
  const std::vector<Branch> all =
      layer_methods.empty() ? make_branches(o.methods, o.ratios) : std::vector<Branch>{{"none", 1.0}, {kMixed, 0.0}};
  nlohmann::json run = o.run_info;
  run["preset"] = {{"name", p.name}, {"total_steps", p.total_steps}, {"begin_step", p.begin_step}, {"frequency", p.frequency},
                   {"alpha_decrement", p.alpha_decrement}, {"prune_end_step", p.prune_end_step}};
  run["layers"] = layers;
  if (writes) {
    // A resumed sweep keeps the records of the runs before it (their commands, revisions and
    // start times): its branches may have been trained by several of them.
    const std::string record = o.out_dir + "/run-" + std::to_string(o.shard) + "-of-" + std::to_string(o.shards) + ".json";
    if (fs::exists(record)) {
      nlohmann::json before = nlohmann::json::parse(read_file(record), nullptr, /*allow_exceptions=*/false);
      if (before.is_object()) {
        nlohmann::json earlier = before.value("earlier_runs", nlohmann::json::array());
        before.erase("earlier_runs");
        earlier.push_back(before);
        run["earlier_runs"] = earlier;
      }
    }
    write_file_atomically(record, run.dump(2));
  }

  // The shared prefix: training until compression begins, once for every branch.
  const std::string prefix_dir = o.out_dir + "/prefix";
  const std::string prefix_ckpt = prefix_dir + "/at-begin.safetensors";
  if (o.run_prefix && !ranks.agree(fs::exists(prefix_ckpt))) {
    if (writes) fs::create_directories(prefix_dir);
    task.init(o.seed);
    const std::string progress_ckpt = prefix_dir + "/progress.safetensors";
    int64_t start = 0;
    if (ranks.agree(fs::exists(progress_ckpt))) start = task.load(progress_ckpt);
    std::optional<RunLog> log;
    if (writes) log.emplace(prefix_dir + "/log", kLogColumns), log->truncate_from(start);
    const int64_t dense = selected_dense_bytes(task.model(), selected);
    train_range(task, nullptr, start, p.begin_step, p, log ? &*log : nullptr, progress_ckpt, "[prefix]", dense, ranks);
    task.save(prefix_ckpt, p.begin_step);
    if (writes) fs::remove(progress_ckpt);
  }

  if (o.sync) o.sync();
  MC_CHECK(ranks.agree(fs::exists(prefix_ckpt)), IoError, "the shared prefix " << prefix_ckpt << " is missing");
  std::vector<Branch> mine;
  for (size_t i = 0; i < all.size(); ++i)
    if (static_cast<int>(i % static_cast<size_t>(o.shards)) == o.shard) mine.push_back(all[i]);
  // For the sweep's ETA: wall time (training, evaluation, export) per branch step trained here.
  double branch_seconds = 0;
  int64_t branch_steps = 0;
  for (size_t i = 0; i < mine.size(); ++i) {
    const Branch& b = mine[i];
    const std::string dir = branch_dir(o.out_dir, b.id());
    std::ostringstream label_text;  // "[3/25 lowrank-0.25]"
    label_text << "[" << i + 1 << "/" << mine.size() << " " << b.id() << "]";
    const std::string label = label_text.str();
    if (ranks.agree(fs::exists(dir + "/result.json"))) {
      if (writes) std::fprintf(stderr, "%s already finished, skipped\n", label.c_str());
      continue;
    }
    if (writes) fs::create_directories(dir);
    task.init(o.seed);
    std::unique_ptr<CompressionController> compression;
    if (b.method != "none") {
      compression = apply_compression(task.model(), spec_for(b, layers, p), o.seed);
      compression->on_event = [dir, label, writes](int64_t step, const CompressionController& c) {
        if (!writes) return;
        std::fprintf(stderr, "\n%s compression event at step %lld\n%s", label.c_str(), static_cast<long long>(step),
                     c.report_table().c_str());
        write_file_atomically(dir + "/compression-step-" + std::to_string(step) + ".json", c.report_json().dump(2));
      };
    }
    const std::string ckpt = dir + "/progress.safetensors";
    const int64_t start = ranks.agree(fs::exists(ckpt)) ? task.load(ckpt) : task.load(prefix_ckpt);
    std::optional<RunLog> log;
    if (writes) log.emplace(dir + "/log", kLogColumns), log->truncate_from(start);
    const int64_t dense = selected_dense_bytes(task.model(), selected);
    Progress timer(label, 1);
    const float final_loss =
        train_range(task, compression.get(), start, p.total_steps, p, log ? &*log : nullptr, ckpt, label, dense, ranks);
    const double train_seconds = timer.elapsed_seconds();
    const double metric = task.evaluate();  // collective when data parallel
    const double infer = task.infer_ms();
    if (!writes) {
      ranks.wait();  // rank 0 exports and writes the result
      continue;
    }
    const ExportSize disk = export_model(dir + "/model.mcz", task.model());
    nlohmann::json result = {{"method", b.method}, {"ratio", b.ratio}, {"steps", p.total_steps},
                             {"final_loss", final_loss}, {task.metric(), metric}, {"infer_ms", infer},
                             {"disk_bytes", disk.file_bytes}, {"dense_model_bytes", disk.dense_float_bytes},
                             {"dense_bytes", dense}, {"train_seconds", train_seconds}};
    if (compression) {
      const nlohmann::json report = compression->report_json();
      result["stored_bytes"] = report["selected_stored_bytes"];
      result["achieved_ratio"] = report["selected_ratio"];
      result["layers"] = report["layers"];
      if (b.method == kMixed) result["ratio"] = report["selected_ratio"];  // the layers' own ratios, combined
    } else {
      result["stored_bytes"] = dense;
      result["achieved_ratio"] = 1.0;
    }
    write_file_atomically(dir + "/result.json", result.dump(2));
    fs::remove(ckpt);
    std::fprintf(stderr, "%s %s %.4f, disk %lld bytes\n", label.c_str(), task.metric().c_str(), metric,
                 static_cast<long long>(disk.file_bytes));
    branch_seconds += timer.elapsed_seconds();
    branch_steps += p.total_steps - start;
    size_t left = 0;
    for (size_t j = i + 1; j < mine.size(); ++j) left += !fs::exists(branch_dir(o.out_dir, mine[j].id()) + "/result.json");
    if (left > 0 && branch_steps > 0) {
      const double eta = branch_seconds / static_cast<double>(branch_steps) * static_cast<double>(left) *
                         static_cast<double>(p.total_steps - p.begin_step);
      std::fprintf(stderr, "sweep: %zu of %zu branches left, about %s\n", left, mine.size(), format_duration(eta).c_str());
    }
    ranks.wait();
  }
  if (o.sync) o.sync();
  if (o.write_results && writes) write_results(o.out_dir, task, p);
}

void write_results(const std::string& out_dir, const ExperimentTask& task, const Preset& p) {
  const std::vector<nlohmann::json> results = read_branch_results(out_dir);
  const std::string metric = task.metric();
  write_results_csv(out_dir + "/results.csv", results,
                    {"method", "ratio", "achieved_ratio", "stored_bytes", "dense_bytes", "disk_bytes", metric, "infer_ms",
                     "final_loss", "steps", "train_seconds"});
  const std::string title = task_title(task.name());
  // Perplexity on a log axis: its log is the loss, and bad points would flatten the rest.
  write_metric_plots(out_dir, results, {title, metric, p.name, !task.higher_is_better(), "", "uncompressed"});

  // Training curves around the compression event: the end of the shared prefix (as long as a
  // branch) once, then the baseline and every method at the ratio nearest 0.25. Batch losses
  // are noisy, so each point is the mean of the last kSmooth logged losses.
  constexpr size_t kSmooth = 5;
  plot::Figure f3{title + ": training loss around the compression event (" + p.name + ")", "step",
                  "training loss (mean of the last 5 logged steps)", false, {}, {},
                  {{"compression begins", static_cast<double>(p.begin_step)}}};
  const auto smoothed = [&](const std::vector<nlohmann::json>& rows, const std::string& label, double from_step) {
    plot::Series s;
    s.label = label;
    s.markers = false;
    std::vector<double> window;
    for (const auto& row : rows) {
      window.push_back(row["loss"].get<double>());
      if (window.size() > kSmooth) window.erase(window.begin());
      const double step = row["step"].get<double>();
      if (step < from_step) continue;
      double sum = 0;
      for (double v : window) sum += v;
      s.x.push_back(step);
      s.y.push_back(sum / static_cast<double>(window.size()));
    }
    return s;
  };
  const double shown_from = static_cast<double>(p.begin_step - (p.total_steps - p.begin_step));
  if (fs::exists(out_dir + "/prefix/log.jsonl"))
    f3.series.push_back(smoothed(RunLog::read(out_dir + "/prefix/log.jsonl"), "shared prefix", shown_from));
  // The target ratio nearest 0.25 (on a log scale) among the finished branches.
  double shown_ratio = 0;
  for (const auto& r : results) {
    const double ratio = r["ratio"].get<double>();
    if (r["method"] != "none" && (shown_ratio == 0 || std::fabs(std::log(ratio / 0.25)) < std::fabs(std::log(shown_ratio / 0.25))))
      shown_ratio = ratio;
  }
  for (const auto& r : results) {
    const std::string m = r["method"];
    if (m != "none" && r["ratio"].get<double>() != shown_ratio) continue;
    const std::string id = m == "none" ? "none" : Branch{m, r["ratio"].get<double>()}.id();
    f3.series.push_back(smoothed(RunLog::read(branch_dir(out_dir, id) + "/log.jsonl"), m == "none" ? "uncompressed" : id, 0));
  }
  plot::write_svg(out_dir + "/training_curves.svg", f3);
}

}  // namespace mc
