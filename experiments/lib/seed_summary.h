// --seeds: the same sweep once per seed, each a complete sweep of its own in out/seed-<s>/
// (its prefix, branches, results.csv and plots), and a summary over the seeds in out/:
// results.csv with one row per (method, ratio) giving how many seeds finished it, the mean of
// every number, and the metric's standard deviation (n - 1), minimum, maximum and per-seed
// values, and its change against the same seed's uncompressed model (mean and standard
// deviation); plots with the mean and bars of one standard deviation. One seed per point cannot
// tell a real difference from training noise; this measures the noise.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "experiments/lib/sweep.h"

namespace mc {

std::string seed_dir(const std::string& out_dir, uint64_t seed);

// Runs (or resumes) options' sweep for every seed in turn, then writes the summary.
// options.seed is ignored; --branch K --of N applies within each seed's sweep.
void run_seed_sweeps(ExperimentTask& task, const SweepOptions& options, const std::vector<uint64_t>& seeds);

// Rewrites every seed's results.csv and plots, then the summary, from the finished branches.
void write_seed_summary(const std::string& out_dir, const std::vector<uint64_t>& seeds, const ExperimentTask& task,
                        const Preset& preset, const plot::PlotSize& plot_size = {});

}  // namespace mc
