// A sweep's fingerprint: everything that decides its numbers (task, recipe, preset, seed,
// compressed layers, data checksums, file format versions), written to OUT/fingerprint.json
// by the first run. A later run into the same folder must have the same one, or it refuses
// (naming the differing fields, old and new) instead of mixing results made with different
// settings. Branch results and checkpoints carry its id (a SHA-256 of the fingerprint), so a
// file from another sweep is never trusted. Not in it, because they do not change the
// numbers: threads, the split over processes, log and checkpoint intervals, the methods and
// ratios (a sweep may grow branches; each branch's id carries its own).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mc {

// Bumped when the sweep's outputs change meaning (old folders then refuse to continue).
inline constexpr int kSweepFormatVersion = 1;

// {"<dataset>/<file name>": {"bytes": n, "md5": "..."}} for the given files (relative to
// `data_dir` in the key, so a moved data folder keeps its fingerprint). MD5s are cached in
// `cache_path` by absolute path, size and modification time, so only a changed file is read
// again; the cache is a plain optimisation and is rewritten when unusable.
nlohmann::json data_checksums(const std::string& data_dir, const std::vector<std::string>& files,
                              const std::string& cache_path);

// Regular files in `dir` and its direct subfolders whose names start with one of `prefixes`
// (sorted): the files a task's loader may read, plain or gzipped.
std::vector<std::string> list_data_files(const std::string& dir, const std::vector<std::string>& prefixes);

// The canonical text's SHA-256 (keys sorted, no spaces), as lowercase hex.
std::string fingerprint_id(const nlohmann::json& fingerprint);

// "seed: 1 (in the folder) vs 2 (now)" for every leaf that differs, missing ones included.
std::vector<std::string> fingerprint_differences(const nlohmann::json& old_fp, const nlohmann::json& new_fp);

// Makes `out_dir` a sweep of `fingerprint`: writes OUT/fingerprint.json when the folder holds
// no sweep yet, accepts an equal one, and refuses (ValueError naming the differing fields and
// the ways out: a new --out or --restart) a different one or a sweep without a fingerprint.
void claim_sweep_folder(const std::string& out_dir, const nlohmann::json& fingerprint);

// --restart: removes what a sweep writes in out_dir (prefix/, branches/, seed-*/,
// fingerprint.json, run records, results.csv, the plots) and nothing else; returns what it
// removed. Refuses a folder that does not look like a sweep's (so a mistyped --out such as
// the home folder is never emptied).
std::vector<std::string> remove_sweep_results(const std::string& out_dir);

}  // namespace mc
