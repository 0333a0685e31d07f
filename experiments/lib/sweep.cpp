#include "experiments/lib/sweep.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "matcomp/formats/export.h"
#include "matcomp/compression/registry.h"
#include "matcomp/compression/schedule.h"
#include "matcomp/core/atomic_file.h"
#include "matcomp/core/error.h"
#include "matcomp/core/progress.h"
#include "matcomp/distributed/model_sync.h"
#include "matcomp/formats/checkpoint.h"
#include "experiments/lib/branch_result.h"
#include "experiments/lib/file_lock.h"
#include "experiments/lib/finite_check.h"
#include "experiments/lib/run_info.h"
#include "experiments/lib/run_log.h"
#include "experiments/lib/sweep_fingerprint.h"

namespace fs = std::filesystem;

namespace mc {

std::vector<std::string> all_methods() {
  // The registry's methods, plus pruning with gradient scores as its own branch.
  std::vector<std::string> methods = registered_methods();
  const auto prune = std::find(methods.begin(), methods.end(), "prune");
  if (prune != methods.end()) methods.insert(prune + 1, "prune_grad");  // beside its magnitude twin
  return methods;
}

std::optional<double> parse_ratio(const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0' || !(v > 0 && v < 1)) return std::nullopt;
  return v;
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
    const std::optional<double> parsed = parse_ratio(ratio);
    MC_CHECK(parsed, ValueError, "--layers: '" << entry << "': ratio '" << ratio << "' must be a number in (0, 1)");
    lm.ratio = *parsed;
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
  // Shortest round-trip text: 0.1000001 and 0.10000004 stay two branches (6 digits merged them).
  char text[32];
  const auto end = std::to_chars(text, text + sizeof text, ratio).ptr;
  return method + "-" + std::string(text, end);
}

std::vector<Branch> make_branches(const std::vector<std::string>& methods, const std::vector<double>& ratios) {
  std::vector<Branch> out{{"none", 1.0}};
  std::set<std::string> ids{"none"};
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
      MC_CHECK(ids.insert(out.back().id()).second, ValueError,
               "branch " << out.back().id() << " is listed twice (--only and --ratios must not repeat a method or ratio)");
    }
  }
  return out;
}

nlohmann::json sweep_fingerprint(const ExperimentTask& task, const SweepOptions& o) {
  const Preset& p = o.preset;
  return {{"sweep_format", kSweepFormatVersion},
          {"checkpoint_format", kCheckpointFormatVersion},
          {"task", task.name()},
          {"recipe", task.recipe_json()},
          {"preset", {{"name", p.name}, {"total_steps", p.total_steps}, {"begin_step", p.begin_step}, {"frequency", p.frequency},
                      {"alpha_decrement", p.alpha_decrement}, {"prune_end_step", p.prune_end_step}}},
          {"seed", o.seed},
          {"layers", o.layers.empty() ? task.default_layers() : o.layers},
          {"data", o.data_checksums}};
}

const std::vector<std::string>& log_columns() {
  // New columns go at the end: readers of older logs find theirs where they were.
  static const std::vector<std::string> columns{"step",   "loss",    "lr",          "alpha",       "stored_bytes",
                                                "metric", "seconds", "metric_name", "eval_seconds"};
  return columns;
}

std::string branch_dir(const std::string& out_dir, const std::string& id) { return out_dir + "/branches/" + id; }

bool is_prune(const std::string& method) { return method == "prune" || method == "prune_grad"; }

namespace {

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

// A checkpoint of this sweep carries its fingerprint id in its extra json.
void expect_fingerprint(const std::string& path, const nlohmann::json& extra, const std::string& id) {
  const std::string found = extra.is_object() ? extra.value("fingerprint", std::string()) : std::string();
  MC_CHECK(found == id, IoError,
           path << " belongs to another sweep (its fingerprint " << (found.empty() ? std::string("is missing") : found.substr(0, 16))
                << ", this sweep's " << id.substr(0, 16)
                << "); remove it, or use a new --out or --restart");
}

// train_range's loop; `last_good` follows the checkpoints it writes.
float train_checked(ExperimentTask& task, CompressionController* compression, int64_t start, int64_t end, const Preset& p,
                    RunLog* log, const std::string& checkpoint, const std::string& label, int64_t dense_bytes,
                    const Ranks& ranks, const std::string& fingerprint, std::string& last_good) {
  Progress progress(label, end - start);
  float loss = NAN;
  for (int64_t step = start; step < end; ++step) {
    if (compression && compression->before_step(step) && ranks.comm)
      sync_after_compression(*ranks.comm, task.model());  // bit-identical factors on every rank
    loss = task.train_step(step, compression);
    const bool last = step + 1 == end;
    const bool evaluate = p.eval_every > 0 && (step % p.eval_every == 0 || last);
    // After the optimizer step, at log intervals (one pass over the parameters): NaN weights
    // can leave the loss plausible (ReLU maps NaN to 0), so the loss check alone misses them.
    if (step % p.log_every == 0 || last || evaluate) check_model_finite(task.model(), step, "after the optimizer step");
    // On every rank (collective when data parallel); it leaves training as it was.
    double metric = NAN, eval_seconds = 0;
    if (evaluate) {
      const double before = progress.elapsed_seconds();
      metric = task.evaluate_progress();
      eval_seconds = progress.elapsed_seconds() - before;
    }
    if (log && (step % p.log_every == 0 || last || evaluate)) {
      nlohmann::json row = {{"step", step}, {"loss", float_for_log(loss)},
                             {"lr", float_for_log(static_cast<float>(task.learning_rate(step)))}, {"seconds", progress.elapsed_seconds()}};
      if (evaluate) {
        // A diverged model's perplexity can be inf: JSON has no inf, so it is logged as null.
        row["metric"] = std::isfinite(metric) ? nlohmann::json(metric) : nlohmann::json();
        row["metric_name"] = task.progress_metric();
        row["eval_seconds"] = eval_seconds;
      }
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
      check_model_finite(task.model(), step, "before writing the checkpoint " + checkpoint);
      task.save(checkpoint, step + 1, {{"fingerprint", fingerprint}});
      last_good = checkpoint;
    }
  }
  if (ranks.writes()) progress.finish("loss " + std::to_string(loss));
  return loss;
}

// Trains [start, end) with logging (log may be null: not this rank's job), periodic
// checkpoints (carrying `fingerprint`) and progress. `loaded` is the checkpoint the model came
// from (empty: fresh). A NaN/Inf in the loss, the gradients or the model stops it with a
// ValueError naming the step, the tensor and the last good checkpoint. Returns the last loss.
float train_range(ExperimentTask& task, CompressionController* compression, int64_t start, int64_t end, const Preset& p,
                  RunLog* log, const std::string& checkpoint, const std::string& label, int64_t dense_bytes,
                  const Ranks& ranks, const std::string& fingerprint, const std::string& loaded) {
  const std::string bad = first_non_finite(task.model());
  MC_CHECK(bad.empty(), ValueError,
           "step " << start << ": " << bad << " (not finite) "
                   << (loaded.empty() ? std::string("in the freshly initialised model") : "in the checkpoint " + loaded)
                   << "; " << label << " stopped before training, nothing was written for it. A damaged checkpoint or one "
                   << "saved by a diverged run: remove it (or use --restart) to train again");
  std::string last_good = loaded;  // every checkpoint written below was checked first
  try {
    return train_checked(task, compression, start, end, p, log, checkpoint, label, dense_bytes, ranks, fingerprint, last_good);
  } catch (const ValueError& e) {
    throw ValueError(std::string(e.what()) + "\n" + label + " stopped: nothing was written for it (no result.json, no " +
                     "exported model); the last good checkpoint is " +
                     (last_good.empty() ? std::string("none (it started from step 0)") : last_good));
  }
}


// Whether branch b has a valid result of this sweep; a result.json that is not one is moved
// aside to result.json.damaged (kept for a look) and the branch trains again, saying so.
bool branch_finished(const std::string& dir, const Branch& b, const ExperimentTask& task, const std::string& fingerprint,
                     const std::string& label) {
  const std::string path = dir + "/result.json";
  if (!fs::exists(path)) return false;
  std::string problem;
  try {
    problem = result_problem(read_result_file(path), task.metric(), b.method, b.ratio, fingerprint);
  } catch (const IoError& e) {
    problem = e.what();
  }
  if (problem.empty()) return true;
  fs::rename(path, path + ".damaged");
  std::fprintf(stderr, "%s %s is not a valid result (%s): moved to result.json.damaged, training the branch again\n",
               label.c_str(), path.c_str(), problem.c_str());
  return false;
}

// Refuses --restart while another process holds the prefix or a branch of the folder.
void check_no_other_process(const std::string& out_dir) {
  std::vector<std::string> locks{out_dir + "/.prefix.lock"};
  if (fs::is_directory(out_dir + "/branches"))
    for (const auto& e : fs::directory_iterator(out_dir + "/branches")) locks.push_back((e.path() / ".claim.lock").string());
  for (const std::string& lock : locks)
    MC_CHECK(!fs::exists(lock) || FileLock::try_lock(lock).has_value(), ValueError,
             "--restart: another process is working in " << out_dir << " (it holds " << lock
                                                         << "); stop it first, or use a new --out");
}

// The folder becomes (or stays) this sweep's: --restart, orphan temporaries, the fingerprint,
// the run record. Under a lock, as processes sharing the folder may start together.
void prepare_folder(const SweepOptions& o, const nlohmann::json& fingerprint, const nlohmann::json& run) {
  fs::create_directories(o.out_dir);
  const FileLock lock = FileLock::lock(o.out_dir + "/.sweep.lock");
  if (o.restart && o.run_prefix) {
    check_no_other_process(o.out_dir);
    const std::vector<std::string> removed = remove_sweep_results(o.out_dir);
    std::fprintf(stderr, "--restart: removed %zu earlier result%s from %s\n", removed.size(), removed.size() == 1 ? "" : "s",
                 o.out_dir.c_str());
  }
  for (const std::string& orphan : remove_orphan_temp_files(o.out_dir))
    std::fprintf(stderr, "removed %s (a temporary file of a process that is gone)\n", orphan.c_str());
  claim_sweep_folder(o.out_dir, fingerprint);
  // A resumed sweep keeps the records of the runs before it (their commands, revisions and
  // start times): its branches may have been trained by several of them.
  nlohmann::json record_json = run;
  const std::string record = o.out_dir + "/run-" + std::to_string(o.shard) + "-of-" + std::to_string(o.shards) + ".json";
  if (fs::exists(record)) {
    nlohmann::json before = nlohmann::json::parse(read_file(record), nullptr, /*allow_exceptions=*/false);
    if (before.is_object()) {
      nlohmann::json earlier = before.value("earlier_runs", nlohmann::json::array());
      before.erase("earlier_runs");
      earlier.push_back(before);
      record_json["earlier_runs"] = earlier;
    }
  }
  write_file_atomically(record, record_json.dump(2));
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
  const std::vector<Branch> all =
      layer_methods.empty() ? make_branches(o.methods, o.ratios) : std::vector<Branch>{{"none", 1.0}, {kMixed, 0.0}};
  task.check_data();  // a split too short for this recipe is found now, not after training
  const nlohmann::json fingerprint = sweep_fingerprint(task, o);
  const std::string fp_id = fingerprint_id(fingerprint);
  nlohmann::json run = o.run_info;
  run["preset"] = {{"name", p.name}, {"total_steps", p.total_steps}, {"begin_step", p.begin_step}, {"frequency", p.frequency},
                   {"alpha_decrement", p.alpha_decrement}, {"prune_end_step", p.prune_end_step}};
  run["layers"] = layers;
  run["data"] = o.data_checksums;
  run["fingerprint"] = fp_id;
  // The process that trains the prefix prepares the folder first; the others (MPI ranks under
  // --parallel branches) once the prefix is there, after its --restart.
  if (writes && o.run_prefix) prepare_folder(o, fingerprint, run);
  const auto fingerprint_check = [&fp_id](const std::string& path) {
    return [path, &fp_id](const nlohmann::json& extra) { expect_fingerprint(path, extra, fp_id); };
  };

  // The shared prefix: training until compression begins, once for every branch. The lock
  // makes a second process (--branch K --of N started together) wait for it, not train it too.
  const std::string prefix_dir = o.out_dir + "/prefix";
  const std::string prefix_ckpt = prefix_dir + "/at-begin.safetensors";
  if (o.run_prefix) {
    std::optional<FileLock> prefix_lock;
    if (writes)
      prefix_lock.emplace(FileLock::lock(o.out_dir + "/.prefix.lock", [] {
        std::fprintf(stderr, "[prefix] another process is training the shared prefix: waiting for it\n");
      }));
    if (!ranks.agree(fs::exists(prefix_ckpt))) {
      if (writes) fs::create_directories(prefix_dir);
      task.init(o.seed);
      const std::string progress_ckpt = prefix_dir + "/progress.safetensors";
      const bool resumed = ranks.agree(fs::exists(progress_ckpt));
      const int64_t start = resumed ? task.load(progress_ckpt, fingerprint_check(progress_ckpt)) : 0;
      std::optional<RunLog> log;
      if (writes) log.emplace(prefix_dir + "/log", log_columns()), log->truncate_from(start);
      if (writes)
        std::fprintf(stderr, "[prefix] training steps %lld to %lld\n", static_cast<long long>(start),
                     static_cast<long long>(p.begin_step));
      const int64_t dense = selected_dense_bytes(task.model(), selected);
      train_range(task, nullptr, start, p.begin_step, p, log ? &*log : nullptr, progress_ckpt, "[prefix]", dense, ranks, fp_id,
                  resumed ? progress_ckpt : "");
      task.save(prefix_ckpt, p.begin_step, {{"fingerprint", fp_id}});
      if (writes) fs::remove(progress_ckpt);
    }
  }

  if (o.sync) o.sync();
  if (writes && !o.run_prefix) prepare_folder(o, fingerprint, run);
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
    // Finished, or claimed by another process sharing the folder (held until this one is done).
    std::optional<FileLock> claim;
    bool skip = false;
    if (writes) {
      if (branch_finished(dir, b, task, fp_id, label)) {
        std::fprintf(stderr, "%s already finished, skipped\n", label.c_str());
        skip = true;
      } else if (!(claim = FileLock::try_lock(dir + "/.claim.lock"))) {
        std::fprintf(stderr, "%s is being trained by another process, skipped\n", label.c_str());
        skip = true;
      } else if (branch_finished(dir, b, task, fp_id, label)) {  // finished while we looked
        std::fprintf(stderr, "%s already finished, skipped\n", label.c_str());
        skip = true;
      }
    }
    if (ranks.agree(skip)) continue;
    if (writes) fs::create_directories(dir);
    task.init(o.seed);
    std::unique_ptr<CompressionController> compression;
    if (b.method != "none") {
      compression = apply_compression(task.model(), spec_for(b, layers, p), o.seed);
      compression->on_event = [dir, label, writes, &task](int64_t step, const CompressionController& c) {
        // The factors a method produced (every rank computes the same ones).
        check_model_finite(task.model(), step, "after the compression event");
        if (!writes) return;
        std::fprintf(stderr, "\n%s compression event at step %lld\n%s", label.c_str(), static_cast<long long>(step),
                     c.report_table().c_str());
        write_file_atomically(dir + "/compression-step-" + std::to_string(step) + ".json", c.report_json().dump(2));
      };
    }
    const std::string ckpt = dir + "/progress.safetensors";
    const bool resumed = ranks.agree(fs::exists(ckpt));
    const int64_t start = resumed ? task.load(ckpt, fingerprint_check(ckpt)) : task.load(prefix_ckpt, fingerprint_check(prefix_ckpt));
    std::optional<RunLog> log;
    if (writes) log.emplace(dir + "/log", log_columns()), log->truncate_from(start);
    const int64_t dense = selected_dense_bytes(task.model(), selected);
    Progress timer(label, 1);
    const float final_loss = train_range(task, compression.get(), start, p.total_steps, p, log ? &*log : nullptr, ckpt, label,
                                         dense, ranks, fp_id, resumed ? ckpt : prefix_ckpt);
    const double train_seconds = timer.elapsed_seconds();
    const double metric = task.evaluate();  // collective when data parallel
    MC_CHECK(std::isfinite(metric), ValueError,
             label << " the test " << task.metric() << " is " << metric << " after step " << p.total_steps
                   << ": nothing was written for the branch (no result.json, no exported model)");
    const double infer = task.infer_ms();
    if (!writes) {
      ranks.wait();  // rank 0 exports and writes the result
      continue;
    }
    ExportSize disk;  // the weights result.json scores (the moving average where the recipe keeps one)
    task.with_evaluation_weights([&] { disk = export_model(dir + "/model.mcz", task.model()); });
    nlohmann::json result = {{"method", b.method}, {"ratio", b.ratio}, {"steps", p.total_steps},
                             {"final_loss", final_loss}, {task.metric(), metric}, {"infer_ms", infer},
                             {"disk_bytes", disk.file_bytes}, {"dense_model_bytes", disk.dense_float_bytes},
                             {"dense_bytes", dense}, {"train_seconds", train_seconds}, {"fingerprint", fp_id},
                             {"revision", o.run_info.value("git_revision", std::string("unknown"))}};
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
  if (o.write_results && writes) write_results(o.out_dir, task, p, o.methods, o.plot_size);
}

}  // namespace mc
