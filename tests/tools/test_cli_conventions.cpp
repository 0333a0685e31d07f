// Every command-line tool (tools/*.main.cpp, experiments/*.main.cpp) follows the same
// conventions (tools/cli/cli_conventions.h): an unknown flag exits 2, --version prints the
// version with the git revision, --help shows the defaults. The list of tools comes from the
// source tree, so a new tool is checked without touching this file.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/run_command.h"

namespace fs = std::filesystem;

namespace {

using Result = matcomp_test::CommandResult;
Result run(const std::string& command) { return matcomp_test::run_command(command); }

std::vector<std::string> tools() {
  std::vector<std::string> names;
  for (const char* folder : {"tools", "experiments"})
    for (const auto& entry : fs::directory_iterator(fs::path(MATCOMP_SOURCE_DIR) / folder)) {
      const std::string file = entry.path().filename().string();
      const std::string suffix = ".main.cpp";
      if (file.size() > suffix.size() && file.ends_with(suffix)) names.push_back(file.substr(0, file.size() - suffix.size()));
    }
  return names;
}

std::string binary(const std::string& tool) { return (fs::path(MATCOMP_BINARY_DIR) / "bin" / tool).string(); }

}  // namespace

TEST(CliConventions, EveryToolIsChecked) {
  const std::vector<std::string> names = tools();
  EXPECT_GE(names.size(), 7u);  // 3 in tools/, 4 in experiments/ when this test was written
  for (const std::string& tool : names) EXPECT_TRUE(fs::exists(binary(tool))) << binary(tool);
}

TEST(CliConventions, UnknownFlagIsAUsageError) {
  for (const std::string& tool : tools()) {
    const Result r = run(binary(tool) + " --bad-flag");
    EXPECT_EQ(r.code, 2) << tool << ": " << r.out;
  }
  // Named when it is the only mistake (CLI11 reports a missing required flag first).
  const Result demo = run(binary("matcomp-demo") + " --bad-flag");
  EXPECT_NE(demo.out.find("bad-flag"), std::string::npos) << demo.out;
}

TEST(CliConventions, VersionNamesTheRevision) {
  for (const std::string& tool : tools()) {
    const Result r = run(binary(tool) + " --version");
    EXPECT_EQ(r.code, 0) << tool << ": " << r.out;
    EXPECT_NE(r.out.find(tool + " matcomp "), std::string::npos) << tool << ": " << r.out;
    EXPECT_NE(r.out.find("(git "), std::string::npos) << tool << ": " << r.out;
  }
}

TEST(CliConventions, HelpShowsDefaults) {
  for (const std::string& tool : tools()) {
    Result r = run(binary(tool) + " --help");
    EXPECT_EQ(r.code, 0) << tool << ": " << r.out;
    EXPECT_NE(r.out.find("--version"), std::string::npos) << tool << ": " << r.out;
    // A tool with subcommands keeps its options there: look at the first subcommand's help.
    if (const size_t sub = r.out.find("Subcommands:\n"); sub != std::string::npos) {
      const size_t name = r.out.find_first_not_of(' ', sub + 13);
      r = run(binary(tool) + " " + r.out.substr(name, r.out.find(' ', name) - name) + " --help");
      EXPECT_EQ(r.code, 0) << tool << ": " << r.out;
    }
    // CLI11 prints a default as "TYPE=value" after the option name.
    EXPECT_NE(r.out.find("=", r.out.find("Options:")), std::string::npos) << tool << " shows no default: " << r.out;
  }
  // One default checked by value: matcomp-demo's --steps.
  const Result demo = run(binary("matcomp-demo") + " --help");
  EXPECT_NE(demo.out.find("=950"), std::string::npos) << demo.out;
}

TEST(CliConventions, InvalidRatiosLeaveNoOutputFolder) {
  const fs::path out = fs::temp_directory_path() / ("mc_cli_ratios_" + std::to_string(::getpid()));
  fs::remove_all(out);
  for (const char* ratios : {"2", "0.5,abc", "-0.1", "0"}) {
    const Result r = run(binary("cifar10-compare") + " --preset smoke --ratios " + ratios + " --out " + out.string());
    EXPECT_EQ(r.code, 2) << ratios << ": " << r.out;
    EXPECT_NE(r.out.find("--ratios"), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(out)) << "--ratios " << ratios << " created " << out;
  }
  const Result seeds = run(binary("ptb-compare") + " --preset smoke --seeds 1,x --out " + out.string());
  EXPECT_EQ(seeds.code, 2) << seeds.out;
  EXPECT_FALSE(fs::exists(out));
}

TEST(CliConventions, RuntimeErrorsExitOne) {
  // Data that is not there: a runtime error, not a usage error.
  const fs::path missing = fs::temp_directory_path() / ("mc_cli_missing_" + std::to_string(::getpid()));
  const fs::path out = missing / "out";
  const Result r = run(binary("cifar10-compare") + " --preset smoke --data " + missing.string() + " --out " + out.string());
  EXPECT_EQ(r.code, 1) << r.out;
  fs::remove_all(missing);
}
