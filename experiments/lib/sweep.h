// The sweep: a baseline plus every (method, ratio) branch, sharing one training prefix.
//
//   out/prefix/            training until compression begins (run once, checkpointed)
//   out/branches/<id>/     one branch: log.jsonl/.csv, checkpoint, exported model, result.json
//   out/results.csv        one row per finished branch; plots beside it
//
// A finished branch (a valid result.json of this sweep) is never recomputed; an interrupted
// one resumes from its last checkpoint; --branch K --of N runs every N-th branch starting at
// K, so separate processes or machines can share a sweep (results are merged from the files).
// OUT/fingerprint.json pins the settings (sweep_fingerprint.h); file locks keep two
// processes from training the prefix or a branch twice (file_lock.h); a NaN/Inf in the model
// stops the run before anything is written for the branch (finite_check.h).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "matcomp/distributed/communicator.h"
#include "experiments/plot/svg_plot.h"
#include "experiments/lib/task.h"

namespace mc {

struct Preset {
  std::string name;
  int64_t total_steps = 0;     // every branch trains to this step
  int64_t begin_step = 0;      // compression begins (end of the shared prefix)
  int64_t frequency = 1;       // blend updates / pruning mask updates
  double alpha_decrement = 1;  // per update
  int64_t prune_end_step = 0;  // pruning reaches its final sparsity here
  int64_t log_every = 10;
  int64_t checkpoint_every = 500;
  // The task's progress metric (ExperimentTask::evaluate_progress) after every eval_every-th
  // step and the last step of the prefix and of each branch, logged beside the loss (0: never).
  int64_t eval_every = 0;
};

struct Branch {
  std::string method;  // "none" (the baseline), lowrank, simhash, kmeans, dictionary, prune, prune_grad
  double ratio = 1.0;  // target stored / dense size of the compressed layers
  std::string id() const;  // "none", "lowrank-0.25": the ratio in the shortest text that reads back exactly
};

struct SweepOptions {
  std::string out_dir;
  Preset preset;
  std::vector<std::string> methods;  // empty: all
  std::vector<double> ratios{0.5, 0.25, 0.1, 0.05};
  std::vector<std::string> layers;   // empty: the task's default
  int shard = 0, shards = 1;         // --branch K --of N
  uint64_t seed = 1;
  nlohmann::json run_info;
  // The data files' checksums (sweep_fingerprint.h: data_checksums), part of the fingerprint.
  nlohmann::json data_checksums = nlohmann::json::object();
  // --restart: remove the folder's results first (whatever settings made them).
  bool restart = false;
  // Processes sharing a sweep at once (MPI ranks): only the one with run_prefix trains the
  // prefix; `sync` (a barrier) is called after the prefix and after the branches; only the one
  // with write_results merges results.csv and the plots. Alone: all true, no sync.
  bool run_prefix = true, write_results = true;
  std::function<void()> sync;
  // Data parallelism (--parallel data): every rank runs every step of this sweep on its share
  // of the batch (the task was given the same communicator). Rank 0 decides what is finished,
  // prints and writes; the model is broadcast after every compression event.
  Communicator* data_parallel = nullptr;
  plot::PlotSize plot_size;  // --plot-width-in, --plot-height-in, --plot-font-pt
};

// The methods a sweep can run: registered_methods() plus "prune_grad" (pruning with gradient
// scores).
std::vector<std::string> all_methods();

// Where a branch keeps its log, checkpoint, model and result: out_dir/branches/<id>.
std::string branch_dir(const std::string& out_dir, const std::string& id);
// Whether a method prunes (its window ends at the final sparsity, not when alpha reaches 0).
bool is_prune(const std::string& method);

// The branch of a run with a method per layer (--layers 'local3=lowrank:0.25,local4=kmeans:0.1').
inline constexpr const char* kMixed = "mixed";
struct LayerMethod {
  std::string pattern;  // a weight seam glob; "local3" means "local3.weight"
  std::string method;   // one of all_methods()
  double ratio = 0;
};
// The per-layer methods of --layers entries "pattern=method:ratio"; empty when no entry names
// a method (plain patterns). ValueError naming the entry for a malformed or mixed list.
std::vector<LayerMethod> parse_layer_methods(const std::vector<std::string>& layers);
// A compression ratio written as text ("0.25"): a number in (0, 1), else nullopt.
std::optional<double> parse_ratio(const std::string& text);
// ValueError for an unknown method, a ratio outside (0, 1), or two ratios giving one branch.
std::vector<Branch> make_branches(const std::vector<std::string>& methods, const std::vector<double>& ratios);

// The fingerprint of a sweep (sweep_fingerprint.h) with these options on this task.
nlohmann::json sweep_fingerprint(const ExperimentTask& task, const SweepOptions& options);

// Runs the prefix (if needed) and this shard's unfinished branches, then rewrites
// results.csv and the plots from every finished branch found in out_dir.
void run_sweep(ExperimentTask& task, const SweepOptions& options);

// Rewrites results.csv and the plots from out_dir/branches/*/result.json, and prints the
// results table on stdout; rows in the sweep's order (methods as in `methods`, empty: all).
// Implemented in sweep_results.cpp.
void write_results(const std::string& out_dir, const ExperimentTask& task, const Preset& preset,
                   const std::vector<std::string>& methods = {}, const plot::PlotSize& plot_size = {});

// The columns of the per-branch and prefix logs (log.csv); log.jsonl rows carry the same keys.
// "metric" (with "metric_name" and "eval_seconds") only on the rows where it was evaluated.
const std::vector<std::string>& log_columns();

}  // namespace mc
