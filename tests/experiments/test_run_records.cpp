// The run records' revisions: every process that trained part of a sweep, in order, once each,
// so a table made by more than one revision can say so.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "matcomp/core/atomic_file.h"
#include "experiments/lib/run_info.h"
#include "tools/cli/cli_conventions.h"

namespace fs = std::filesystem;

TEST(RunRecords, RevisionsOfEveryProcessInOrderOnce) {
  const fs::path dir = fs::temp_directory_path() / ("matcomp-run-records-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  EXPECT_TRUE(mc::sweep_revisions(dir.string()).empty());
  // Shard 0: a prefix by aaa, resumed by bbb, then by aaa again; shard 1: ccc. A damaged record
  // and files that are not run records are skipped.
  const nlohmann::json shard0 = {{"git_revision", "aaa"},
                                 {"earlier_runs", {{{"git_revision", "aaa"}}, {{"git_revision", "bbb-dirty"}}}}};
  mc::write_file_atomically((dir / "run-0-of-2.json").string(), shard0.dump());
  mc::write_file_atomically((dir / "run-1-of-2.json").string(), nlohmann::json{{"git_revision", "ccc"}}.dump());
  mc::write_file_atomically((dir / "run-2-of-3.json").string(), "{not json");
  mc::write_file_atomically((dir / "fingerprint.json").string(), nlohmann::json{{"git_revision", "zzz"}}.dump());
  EXPECT_EQ(mc::sweep_revisions(dir.string()), (std::vector<std::string>{"aaa", "bbb-dirty", "ccc"}));
  fs::remove_all(dir);
}

TEST(RunRecords, RunInfoNamesTheRevisionTheBinaryWasBuiltFrom) {
  char arg0[] = "tool";
  char* argv[] = {arg0};
  const nlohmann::json info = mc::run_info(1, argv, 7, 1);
  EXPECT_EQ(info["git_revision"], mc::cli::git_revision());
  EXPECT_FALSE(std::string(mc::cli::git_revision()).empty());
}
