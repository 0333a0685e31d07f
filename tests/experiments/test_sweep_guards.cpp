// The sweep's guards without training: branch ids at full precision, the NaN/Inf check of a
// model, the fingerprint's differences, result.json validation, --restart's limits, locks
// and orphan temporaries.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "matcomp/core/atomic_file.h"
#include "matcomp/core/error.h"
#include "matcomp/layers/modules/dense.h"
#include "experiments/lib/branch_result.h"
#include "experiments/lib/file_lock.h"
#include "experiments/lib/finite_check.h"
#include "experiments/lib/sweep.h"
#include "experiments/lib/sweep_fingerprint.h"

namespace fs = std::filesystem;

namespace {
std::string temp_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("matcomp-guards-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

// The message of the exception `f` throws ("" when it throws none).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(BranchIds, KeepFullPrecisionAndRefuseDuplicates) {
  const auto branches = mc::make_branches({"lowrank"}, {0.1000001, 0.10000004, 0.25, 0.05});
  ASSERT_EQ(branches.size(), 5u);
  EXPECT_EQ(branches[1].id(), "lowrank-0.1000001");
  EXPECT_EQ(branches[2].id(), "lowrank-0.10000004");
  EXPECT_EQ(branches[3].id(), "lowrank-0.25");  // the short names of existing sweeps stay as they were
  EXPECT_EQ(branches[4].id(), "lowrank-0.05");
  const std::string err = error_of([] { mc::make_branches({"lowrank"}, {0.5, 0.5}); });
  EXPECT_NE(err.find("branch lowrank-0.5 is listed twice"), std::string::npos) << err;
  EXPECT_NE(error_of([] { mc::make_branches({"prune", "prune"}, {0.5}); }).find("listed twice"), std::string::npos);
}

TEST(FiniteCheck, NamesTheTensorAndTheStep) {
  mc::Dense layer(mc::Tensor::full({4, 3}, 0.5f), 0.1f);
  EXPECT_EQ(mc::first_non_finite(layer), "");
  EXPECT_NO_THROW(mc::check_model_finite(layer, 7, "after the optimizer step"));
  std::string name;
  for (auto& [n, p] : layer.named_parameters()) {
    name = n;
    p.value().data()[1] = std::numeric_limits<float>::quiet_NaN();
    break;
  }
  const std::string err = error_of([&] { mc::check_model_finite(layer, 7, "after the optimizer step"); });
  EXPECT_NE(err.find("step 7, after the optimizer step: parameter '" + name + "' holds NaN at element 1"), std::string::npos)
      << err;
  for (auto& [n, p] : layer.named_parameters()) p.value().data()[1] = 0.0f;
  layer.named_parameters().back().second.value().data()[0] = -std::numeric_limits<float>::infinity();
  EXPECT_NE(mc::first_non_finite(layer).find("-Inf at element 0"), std::string::npos) << mc::first_non_finite(layer);
}

TEST(Fingerprint, DifferencesNameEachFieldOldAndNew) {
  const nlohmann::json a = {{"seed", 1}, {"task", "ptb"}, {"preset", {{"name", "smoke"}, {"total_steps", 30}}}};
  nlohmann::json b = a;
  b["seed"] = 2;
  b["preset"]["name"] = "quick";
  b["extra"] = true;
  const auto diff = mc::fingerprint_differences(a, b);
  ASSERT_EQ(diff.size(), 3u);
  EXPECT_EQ(diff[0], "preset.name: \"smoke\" (in the folder) vs \"quick\" (now)");
  EXPECT_EQ(diff[1], "seed: 1 (in the folder) vs 2 (now)");
  EXPECT_EQ(diff[2], "extra: (absent) (in the folder) vs true (now)");
  EXPECT_EQ(mc::fingerprint_id(a), mc::fingerprint_id(nlohmann::json::parse(a.dump(2))));  // canonical text
  EXPECT_NE(mc::fingerprint_id(a), mc::fingerprint_id(b));

  const std::string dir = temp_dir("claim");
  mc::claim_sweep_folder(dir, a);
  EXPECT_NO_THROW(mc::claim_sweep_folder(dir, a));
  const std::string err = error_of([&] { mc::claim_sweep_folder(dir, b); });
  EXPECT_NE(err.find("seed: 1 (in the folder) vs 2 (now)"), std::string::npos) << err;
  EXPECT_NE(err.find("--restart"), std::string::npos) << err;
  EXPECT_NE(err.find("new --out"), std::string::npos) << err;
  // A sweep from before fingerprints: its settings are unknown, so it is not continued.
  const std::string legacy = temp_dir("legacy");
  fs::create_directories(legacy + "/prefix");
  EXPECT_NE(error_of([&] { mc::claim_sweep_folder(legacy, a); }).find("without a fingerprint"), std::string::npos);
  fs::remove_all(dir);
  fs::remove_all(legacy);
}

TEST(Fingerprint, DataChecksumsAreCachedBySizeAndTime) {
  const std::string dir = temp_dir("checksums");
  fs::create_directories(dir + "/ptb");
  mc::write_file_atomically(dir + "/ptb/ptb.test.txt", "the cat\n");
  const std::string cache = dir + "/cache.json";
  const auto first = mc::data_checksums(dir, {dir + "/ptb/ptb.test.txt"}, cache);
  EXPECT_EQ(first["ptb/ptb.test.txt"]["md5"], "eba44599504466d792b621b617abc003");  // md5sum of the same bytes
  EXPECT_EQ(first["ptb/ptb.test.txt"]["bytes"], 8);
  // A changed file is read again (its size changed); the cache alone would be stale.
  mc::write_file_atomically(dir + "/ptb/ptb.test.txt", "the dog!\n");
  const auto second = mc::data_checksums(dir, {dir + "/ptb/ptb.test.txt"}, cache);
  EXPECT_NE(second["ptb/ptb.test.txt"]["md5"], first["ptb/ptb.test.txt"]["md5"]);
  fs::remove_all(dir);
}

TEST(BranchResult, OnlyACompleteResultOfThisBranchAndSweepIsTrusted) {
  nlohmann::json r = {{"method", "lowrank"}, {"ratio", 0.25}, {"steps", 30}, {"final_loss", 2.3}, {"infer_ms", 1.0},
                      {"disk_bytes", 10}, {"dense_bytes", 20}, {"dense_model_bytes", 30}, {"stored_bytes", 5},
                      {"achieved_ratio", 0.24}, {"train_seconds", 3.0}, {"fingerprint", "abc"}, {"accuracy", 0.5}};
  EXPECT_EQ(mc::result_problem(r, "accuracy", "lowrank", 0.25, "abc"), "");
  EXPECT_NE(mc::result_problem(r, "accuracy", "lowrank", 0.25, "xyz").find("another sweep"), std::string::npos);
  EXPECT_NE(mc::result_problem(r, "accuracy", "kmeans", 0.25, "abc").find("not of this branch"), std::string::npos);
  EXPECT_NE(mc::result_problem(r, "perplexity", "lowrank", 0.25, "abc").find("'perplexity' is missing"), std::string::npos);
  nlohmann::json broken = r;
  broken["accuracy"] = nullptr;  // how a NaN is written
  EXPECT_NE(mc::result_problem(broken, "accuracy", "lowrank", 0.25, "abc").find("not a number"), std::string::npos);
  const std::string dir = temp_dir("result");
  mc::write_file_atomically(dir + "/result.json", "{\"method\": \"lowr");
  const std::string err = error_of([&] { mc::read_result_file(dir + "/result.json"); });
  EXPECT_NE(err.find(dir + "/result.json is damaged"), std::string::npos) << err;
  fs::remove_all(dir);
}

TEST(Restart, RemovesOnlyWhatASweepWrites) {
  const std::string dir = temp_dir("restart");
  fs::create_directories(dir + "/prefix");
  fs::create_directories(dir + "/branches/none");
  mc::write_file_atomically(dir + "/fingerprint.json", "{}");
  mc::write_file_atomically(dir + "/results.csv", "x");
  mc::write_file_atomically(dir + "/notes.txt", "mine");
  const auto removed = mc::remove_sweep_results(dir);
  EXPECT_EQ(removed.size(), 4u);
  EXPECT_FALSE(fs::exists(dir + "/prefix"));
  EXPECT_FALSE(fs::exists(dir + "/fingerprint.json"));
  EXPECT_TRUE(fs::exists(dir + "/notes.txt"));
  // A folder holding no sweep but other files (a mistyped --out) is left alone.
  const std::string err = error_of([&] { mc::remove_sweep_results(dir); });
  EXPECT_NE(err.find("does not hold a sweep"), std::string::npos) << err;
  EXPECT_TRUE(fs::exists(dir + "/notes.txt"));
  fs::remove_all(dir);
}

TEST(FileLock, SecondHolderIsRefusedUntilTheFirstLetsGo) {
  const std::string dir = temp_dir("lock");
  const std::string path = dir + "/.claim.lock";
  {
    auto first = mc::FileLock::try_lock(path);
    ASSERT_TRUE(first.has_value());
    // flock locks belong to the open file: a second open (as another process would) is refused.
    EXPECT_FALSE(mc::FileLock::try_lock(path).has_value());
  }
  EXPECT_TRUE(mc::FileLock::try_lock(path).has_value());
  fs::remove_all(dir);
}

TEST(OrphanTempFiles, OnlyThoseOfDeadProcessesAreRemoved) {
  const std::string dir = temp_dir("orphans");
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);  // a pid that is gone
  fs::create_directories(dir + "/branches/none");
  const std::string dead = dir + "/branches/none/result.json.tmp." + std::to_string(child);
  const std::string alive = dir + "/results.csv.tmp." + std::to_string(::getppid());
  const std::string other = dir + "/notes.tmp.txt";
  for (const std::string& f : {dead, alive, other}) mc::write_file_atomically(f, "x");
  const auto removed = mc::remove_orphan_temp_files(dir);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0], dead);
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(alive));
  EXPECT_TRUE(fs::exists(other));
  fs::remove_all(dir);
}
