#include "tools/cli/cli_conventions.h"
#include "experiments/lib/compare_cli.h"

#include <CLI/CLI.hpp>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>

#include "matcomp/core/error.h"
#include "matcomp/core/parallel.h"
#include "matcomp/datasets/data_dir.h"
#include "experiments/lib/cifar10_task.h"
#include "experiments/lib/presets.h"
#include "experiments/lib/ptb_task.h"
#include "experiments/lib/run_info.h"
#include "experiments/lib/seed_summary.h"
#include "experiments/plot/svg_plot.h"
#include "experiments/lib/sweep.h"
#include "experiments/lib/sweep_fingerprint.h"
#include "matcomp/distributed/session.h"

namespace mc {

namespace {

// A whole number of at least `min` (CLI11's own check prints "Value 0 not in range 0.000000 to
// 1.79e308" for --threads 0).
CLI::Validator at_least(int64_t min, const std::string& what) {
  return CLI::Validator(
      [min, what](std::string& text) -> std::string {
        char* end = nullptr;
        errno = 0;
        const long long v = std::strtoll(text.c_str(), &end, 10);
        if (end == text.c_str() || *end != '\0' || errno == ERANGE || v < min)
          return "must be " + what + " (a whole number >= " + std::to_string(min) + "), found '" + text + "'";
        return "";
      },
      "INT>=" + std::to_string(min));
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace

int compare_main(int argc, char** argv, const std::string& task_name) {
  const bool cifar = task_name == "cifar10";
  CLI::App app{cifar ? "CIFAR-10: the reference CNN, uncompressed and with every compression method at several ratios"
                     : "PTB: the reference LSTM language model, uncompressed and with every compression method at several ratios"};
  mc::cli::setup(app, task_name + "-compare");
  std::string data, out, preset = "quick", only, ratios = "0.5,0.25,0.1,0.05", layers, model = "small";
  uint64_t seed = 1;
  std::string seeds;
  int threads = 2, shard = 0, shards = 1;
  bool results_only = false, restart = false;
  std::string parallel = "none";
  app.add_option("--data", data, "data folder (default: $MATCOMP_DATA); get it with `matcomp-data download`");
  app.add_option("--out", out, "output folder (default: runs/" + task_name + "-<preset>)");
  app.add_option("--preset", preset, kPresetHelp)->check(CLI::IsMember({"smoke", "quick", "standard", "reference", "fast"}));
  auto* seed_option = app.add_option("--seed", seed, "seed of the model, the data order and the factorizations");
  app.add_option("--seeds", seeds,
                 "comma-separated seeds: the whole sweep once per seed in OUT/seed-S/, and OUT/results.csv with "
                 "the mean, standard deviation and range over the seeds (plots with error bars)")
      ->excludes(seed_option);
  app.add_option("--threads", threads, "OpenMP/BLAS threads")->check(at_least(1, "at least one thread"));
  std::string method_list;
  for (const std::string& m : all_methods()) method_list += (method_list.empty() ? "" : ",") + m;
  app.add_option("--only", only, "comma-separated methods (" + method_list + "); the baseline always runs");
  app.add_option("--ratios", ratios, "comma-separated target ratios of the compressed layers' stored to dense size");
  app.add_option("--layers", layers,
                 "comma-separated weight name patterns to compress (default: the reference's); or a method per "
                 "pattern, pattern=method:ratio (e.g. 'local3=lowrank:0.25,local4=kmeans:0.1'): the baseline and one "
                 "'mixed' branch (docs/COMPRESSION.md, Mixing methods)");
  app.add_option("--branch", shard, "run only branches K, K+N, K+2N, ... (with --of N)")->check(at_least(0, "a branch index"));
  app.add_option("--of", shards, "number of processes sharing the sweep")->check(at_least(1, "a process count"));
  app.add_option("--parallel", parallel,
                 "under mpirun: 'branches' spreads the sweep's branches over the ranks (rank K runs --branch K "
                 "--of N); rank 0 trains the shared prefix and writes the results. 'data' runs every step on all "
                 "ranks, each on its share of the batch, gradients averaged (docs/DISTRIBUTED.md)")
      ->check(CLI::IsMember({"none", "branches", "data"}));
  app.add_flag("--results-only", results_only, "redraw results.csv and the plots from finished branches (or only the plots from results.csv, where the branches are gone), train nothing");
  app.add_flag("--restart", restart,
               "start over: remove the results already in --out (made with any settings) before running; without it, "
               "an --out made with other settings (seed, preset, task, data...) is refused")
      ->excludes("--results-only");
  if (!cifar) app.add_option("--model", model, "small or medium")->check(CLI::IsMember({"small", "medium"}));
  int64_t total_steps = 0;
  app.add_option("--total-steps", total_steps,
                 "train N steps in all: the preset's step counts (compression window, logging, checkpoints, "
                 "evaluations) and its learning-rate schedule scale in proportion (for short trial runs of a preset)")
      ->check(at_least(2, "a step count"));
  std::string recipe_overrides;
  if (cifar)
    app.add_option("--recipe", recipe_overrides,
                   "change the preset's training recipe, key=value,...: lr, schedule (staircase|cosine), decay_steps, "
                   "decay_rate, warmup, momentum, nesterov (0|1), wd (local3/local4 kernels), other_wd (the other "
                   "kernels), ema (0: none); step counts are absolute (after --total-steps). Part of the sweep's "
                   "fingerprint");
  // Evaluation during training: it never changes the training (the results are the same with
  // any --eval-every), so it is not part of the sweep's fingerprint.
  int64_t eval_every = -1, eval_images = 1000, valid_windows = -1;
  app.add_option("--eval-every", eval_every,
                 std::string("evaluate ") +
                     (cifar ? "the test accuracy on the first --eval-images test images"
                            : "the validation perplexity") +
                     " after every N-th step and the last step of the prefix and of each branch, logged beside the loss "
                     "(log.jsonl/.csv: metric, metric_name, eval_seconds) and drawn in training_curves.svg; 0: never "
                     "(default: the preset's, about 1-5 % of the training time: " +
                     (cifar ? "smoke 10, quick 100, standard 250, reference 1000)" : "smoke 10, quick 200, standard 500, reference one epoch)"))
      ->check(at_least(0, "a step count"))
      ->default_str("preset");
  if (cifar)
    app.add_option("--eval-images", eval_images,
                   "test images evaluated during training: the first N of the test set, the same ones every time "
                   "(default 1000; the final evaluation uses the whole test set)")
        ->check(at_least(1, "an image count"));
  else
    app.add_option("--valid-windows", valid_windows,
                   "validation windows (batch x unroll tokens each, from the start of ptb.valid.txt) evaluated during "
                   "training; 0: all 105 of the real set (default: the preset's, smoke 5, quick 10, standard 25, "
                   "reference 0: the whole set costs about 50 training steps)")
        ->check(at_least(0, "a window count"))
        ->default_str("preset");
  plot::PlotSize plot_size;
  app.add_option("--plot-width-in", plot_size.width_in, "figure width in inches (a one-column paper figure: 3.3)")
      ->capture_default_str();
  app.add_option("--plot-height-in", plot_size.height_in, "figure height in inches (0: 0.61 of the width)")->capture_default_str();
  app.add_option("--plot-font-pt", plot_size.font_pt, "figure text size in points (lines and markers follow it)")
      ->capture_default_str();
  if (const int rc = mc::cli::parse(app, argc, argv); rc >= 0) return rc;
  try {
    plot::check_plot_size(plot_size);
    Cifar10Recipe probe;  // a bad --recipe is a usage error, found before any data is read
    apply_recipe_overrides(probe, recipe_overrides);
  } catch (const ValueError& e) {
    return cli::usage_error(task_name + "-compare", e.what());
  }

  // The lists are checked before anything is created: a bad value leaves no output folder.
  std::vector<double> ratio_list;
  std::vector<uint64_t> seed_list;
  for (const std::string& r : split_list(ratios)) {
    const std::optional<double> v = parse_ratio(r);
    if (!v) return cli::usage_error(task_name + "-compare", "--ratios: '" + r + "' is not a ratio in (0, 1)");
    ratio_list.push_back(*v);
  }
  for (const std::string& item : split_list(seeds)) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(item.c_str(), &end, 10);
    if (end == item.c_str() || *end != '\0' || item[0] == '-')
      return cli::usage_error(task_name + "-compare", "--seeds: '" + item + "' is not a seed (a non-negative integer)");
    seed_list.push_back(v);
  }

  std::unique_ptr<DistributedSession> session;  // outside the try: an error must still reach the other ranks
  try {
    set_num_threads(threads);
    SweepOptions o;
    o.out_dir = out.empty() ? "runs/" + task_name + "-" + preset : out;
    o.methods = split_list(only);
    o.ratios = ratio_list;
    o.layers = split_list(layers);
    o.shard = shard, o.shards = shards, o.seed = seed, o.restart = restart;
    if (results_only) {  // before the data is loaded: a mistyped --out must not give an empty table
      const bool found = seeds.empty() ? std::filesystem::is_directory(o.out_dir + "/branches") ||
                                             std::filesystem::is_regular_file(o.out_dir + "/results.csv")
                                       : std::filesystem::is_directory(o.out_dir);
      MC_CHECK(found, ValueError, "--results-only: " << o.out_dir << " holds no sweep (no " << o.out_dir
                                                     << (seeds.empty() ? "/branches/ or results.csv" : "/ folder") << "); check --out");
    }
    if (parallel != "none") session = std::make_unique<DistributedSession>(DistributedBackend::Auto);
    if (parallel == "branches") {
      Communicator& world = session->world();
      MC_CHECK(shards == 1, ValueError, "--parallel branches sets --branch and --of from the MPI rank; give only one of them");
      o.shard = world.rank(), o.shards = world.size();
      o.run_prefix = o.write_results = world.is_root();
      o.sync = [&world] { world.barrier(); };
    } else if (parallel == "data") {
      o.data_parallel = &session->world();
    }
    o.run_info = run_info(argc, argv, seed, threads);
    o.run_info["parallel"] = parallel;

    const std::string data_dir = data::resolve_data_dir(data);
    std::unique_ptr<ExperimentTask> task;
    if (cifar) {
      Cifar10Recipe recipe;
      o.preset = cifar10_preset(preset, recipe);
      if (total_steps > 0) {
        scale_recipe(recipe, total_steps, o.preset.total_steps);
        scale_preset(o.preset, total_steps);
      }
      apply_recipe_overrides(recipe, recipe_overrides);
      recipe.progress_images = eval_images;
      task = std::make_unique<Cifar10Task>(data::cifar10_dir(data_dir), recipe);
    } else {
      PtbRecipe recipe;
      recipe.model = model == "medium" ? PtbLstmConfig::medium() : PtbLstmConfig::small();
      const int64_t epoch = 929589 / (recipe.model.batch * recipe.model.unroll);  // windows per epoch of PTB train
      o.preset = ptb_preset(preset, epoch, recipe);
      if (total_steps > 0) {
        scale_recipe(recipe, total_steps, o.preset.total_steps);
        scale_preset(o.preset, total_steps);
      }
      if (valid_windows >= 0) recipe.valid_windows = valid_windows;
      task = std::make_unique<PtbTask>(data::ptb_dir(data_dir), recipe);
      o.run_info["model"] = model;
    }
    if (eval_every >= 0) o.preset.eval_every = eval_every;
    o.plot_size = plot_size;
    o.run_info["eval_every"] = o.preset.eval_every;
    o.run_info["eval_metric"] = task->progress_metric();
    if (o.data_parallel) task->set_data_parallel(o.data_parallel);
    // Checksums of the data files for the fingerprint and the run record (cached in OUT).
    if (!results_only) o.data_checksums = data_checksums(data_dir, task->data_files(), o.out_dir + "/.data-checksums.json");
    if (seeds.empty()) {  // the seed path checks the list itself (empty, repeated seeds)
      if (results_only) write_results(o.out_dir, *task, o.preset, o.methods, o.plot_size);
      else run_sweep(*task, o);
    } else {
      if (results_only) write_seed_summary(o.out_dir, seed_list, *task, o.preset, o.plot_size);
      else run_seed_sweeps(*task, o, seed_list);
    }
    std::fprintf(stderr, "results: %s/results.csv\n", o.out_dir.c_str());
    return 0;
  } catch (const std::exception& e) {
    // With several ranks the others would wait forever in their next collective: end the job.
    if (session && session->world().size() > 1) session->world().abort(task_name + "-compare: error: " + e.what());
    std::fprintf(stderr, "%s-compare: error: %s\n", task_name.c_str(), e.what());
    return 1;
  }
}

}  // namespace mc
