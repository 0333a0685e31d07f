// No silent wrong result from the comparison binaries (issue 18), end to end on the real data
// with --preset smoke: an --out made with other settings is refused (and --restart starts
// over), a damaged result.json is recomputed, NaN weights stop the run, a too-short data file
// is found before training, bad flags name themselves, and two processes sharing a sweep
// train its prefix once.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <cstring>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "real_data.h"
#include "matcomp/core/atomic_file.h"
#include "matcomp/formats/safetensors.h"

namespace fs = std::filesystem;

using matcomp_test::data_dir;

namespace {

std::string fresh_dir(const std::string& name) {
  const std::string dir = (fs::temp_directory_path() / ("matcomp-safety-" + name + "-" + std::to_string(::getpid()))).string();
  fs::remove_all(dir);
  return dir;
}

std::string shell_command(const std::string& binary, const std::string& args, const std::string& log_path,
                          const std::string& data) {
  return std::string(MATCOMP_BINARY_DIR) + "/bin/" + binary + " --data '" + data + "' --threads 2 " + args + " > '" +
         log_path + "' 2>&1";
}

// Runs a binary from the build's bin/; returns the exit code, its output in `log`.
int run(const std::string& binary, const std::string& args, std::string& log, const std::string& data = data_dir()) {
  const std::string log_path = fresh_dir("log") + ".log";
  const int rc = std::system(shell_command(binary, args, log_path, data).c_str());
  log = mc::read_file(log_path);
  fs::remove(log_path);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

}  // namespace

// Reusing an --out with another seed, preset or task used to report every branch "already
// finished" from the old settings (exit 0). Now: refused, naming the fields and the ways out.
TEST(SweepSafety, OtherSettingsInTheSameOutAreRefusedAndRestartStartsOver) {
  REQUIRE_DATA();
  const std::string out = fresh_dir("settings");
  // --branch 0 --of 2 of {none, lowrank-0.5}: the prefix and the baseline only.
  const std::string args = "--preset smoke --only lowrank --ratios 0.5 --branch 0 --of 2 --out " + out;
  std::string log;
  ASSERT_EQ(run("ptb-compare", args + " --seed 1", log), 0) << log;
  const std::string result = mc::read_file(out + "/branches/none/result.json");
  const auto fingerprint = nlohmann::json::parse(mc::read_file(out + "/fingerprint.json"));
  EXPECT_EQ(fingerprint["seed"], 1);
  EXPECT_EQ(fingerprint["preset"]["name"], "smoke");
  EXPECT_EQ(fingerprint["data"]["ptb/ptb.train.txt.gz"]["md5"].get<std::string>().size(), 32u) << fingerprint.dump();
  // The run record names the data checksums too.
  const auto record = nlohmann::json::parse(mc::read_file(out + "/run-0-of-2.json"));
  EXPECT_EQ(record["data"], fingerprint["data"]);

  EXPECT_NE(run("ptb-compare", args + " --seed 2", log), 0) << log;
  EXPECT_NE(log.find("seed: 1 (in the folder) vs 2 (now)"), std::string::npos) << log;
  EXPECT_NE(log.find("--restart"), std::string::npos) << log;
  EXPECT_EQ(log.find("already finished"), std::string::npos) << log;
  // A quick run would continue the smoke prefix from step 20.
  EXPECT_NE(run("ptb-compare", "--preset quick --only lowrank --ratios 0.5 --branch 0 --of 2 --out " + out, log), 0) << log;
  EXPECT_NE(log.find("preset.name: \"smoke\" (in the folder) vs \"quick\" (now)"), std::string::npos) << log;
  EXPECT_NE(run("cifar10-compare", args, log), 0) << log;
  EXPECT_NE(log.find("task: \"ptb\" (in the folder) vs \"cifar10\" (now)"), std::string::npos) << log;
  EXPECT_EQ(mc::read_file(out + "/branches/none/result.json"), result) << "a refused run changed the results";

  // A damaged result.json: --results-only names it; a run recomputes it, saying so.
  mc::write_file_atomically(out + "/branches/none/result.json", "{\"method\": \"no");
  EXPECT_NE(run("ptb-compare", "--preset smoke --results-only --out " + out, log), 0) << log;
  EXPECT_NE(log.find(out + "/branches/none/result.json is damaged"), std::string::npos) << log;
  ASSERT_EQ(run("ptb-compare", args + " --seed 1", log), 0) << log;
  EXPECT_NE(log.find("result.json is not a valid result"), std::string::npos) << log;
  const auto first = nlohmann::json::parse(result), again = nlohmann::json::parse(mc::read_file(out + "/branches/none/result.json"));
  for (const char* key : {"perplexity", "final_loss", "stored_bytes", "disk_bytes", "fingerprint"})
    EXPECT_EQ(again[key], first[key]) << key << ": the recomputed result differs from the first";

  // --restart: the old results go, the new settings' come.
  ASSERT_EQ(run("ptb-compare", args + " --seed 2 --restart", log), 0) << log;
  EXPECT_NE(log.find("--restart: removed"), std::string::npos) << log;
  EXPECT_EQ(nlohmann::json::parse(mc::read_file(out + "/fingerprint.json"))["seed"], 2);
  const auto one = nlohmann::json::parse(result), two = nlohmann::json::parse(mc::read_file(out + "/branches/none/result.json"));
  EXPECT_NE(one["perplexity"], two["perplexity"]) << "seed 2 gave seed 1's result";
  fs::remove_all(out);
}

// NaN weights: ReLU maps NaN to 0, the loss stays near 2.30, and the baseline used to finish
// with a result.json and an exported model full of NaN.
TEST(SweepSafety, NanWeightsStopTheRunAndWriteNothing) {
  REQUIRE_DATA();
  const std::string out = fresh_dir("nan");
  const std::string args = "--preset smoke --only lowrank --ratios 0.5 --branch 0 --of 2 --out " + out;
  std::string log;
  ASSERT_EQ(run("cifar10-compare", args, log), 0) << log;
  fs::remove_all(out + "/branches");
  // One NaN in the first convolution's kernel of the shared prefix, written back whole (its
  // metadata, and any checksum the writer keeps, stay consistent: only the value is bad).
  const std::string prefix = out + "/prefix/at-begin.safetensors";
  mc::SafetensorsContents ck = mc::read_safetensors(prefix);
  std::vector<std::pair<std::string, mc::NpyArray>> tensors(ck.tensors.begin(), ck.tensors.end());
  bool planted = false;
  for (auto& [name, array] : tensors)
    if (name == "model.conv1.weight.A") {
      const float nan = std::numeric_limits<float>::quiet_NaN();
      std::memcpy(array.bytes.data() + 4 * 7, &nan, 4);
      planted = true;
    }
  ASSERT_TRUE(planted) << "no model.conv1.weight.A in " << prefix;
  mc::write_safetensors(prefix, ck.metadata, tensors);

  EXPECT_NE(run("cifar10-compare", args, log), 0) << log;
  EXPECT_NE(log.find("parameter 'conv1.weight.A' holds NaN at element 7"), std::string::npos) << log;
  EXPECT_NE(log.find("step 20"), std::string::npos) << log;
  EXPECT_NE(log.find(prefix), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(out + "/branches/none/result.json"));
  EXPECT_FALSE(fs::exists(out + "/branches/none/model.mcz"));
  fs::remove_all(out);
}

// A test file too short for one evaluation window used to be found after the prefix and a
// branch had trained, with a message naming no file.
TEST(SweepSafety, TooShortTestFileIsFoundBeforeTraining) {
  REQUIRE_DATA();
  const std::string data = fresh_dir("short-data"), out = fresh_dir("short-out");
  fs::create_directories(data + "/ptb");
  for (const char* f : {"ptb.train.txt", "ptb.valid.txt"}) {
    const std::string from = data_dir() + "/ptb/" + f;
    fs::create_symlink(fs::exists(from) ? from : from + ".gz", data + "/ptb/" + f + (fs::exists(from) ? "" : ".gz"));
  }
  mc::write_file_atomically(data + "/ptb/ptb.test.txt", "the company said\nthe market fell\n");
  std::string log;
  EXPECT_NE(run("ptb-compare", "--preset smoke --only lowrank --ratios 0.5 --out " + out, log, data), 0) << log;
  // Next to the official training text the loader knows the official test file's size, so the
  // cut file is refused as such (and the run's own window check, ExperimentTask::check_data,
  // stays behind it for corpora of other origins).
  EXPECT_NE(log.find(data + "/ptb/ptb.test.txt: not the official ptb.test.txt"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(out + "/prefix")) << "trained before finding it";
  fs::remove_all(data);
  fs::remove_all(out);
}

TEST(SweepSafety, BadFlagsNameThemselves) {
  std::string log;
  EXPECT_NE(run("ptb-compare", "--preset smoke --threads 0", log), 0);
  EXPECT_NE(log.find("--threads: must be at least one thread"), std::string::npos) << log;
  EXPECT_EQ(log.find("1.79"), std::string::npos) << log;
  const std::string file = fresh_dir("data-file");
  mc::write_file_atomically(file, "not a folder");
  EXPECT_NE(run("ptb-compare", "--preset smoke", log, file), 0);
  EXPECT_NE(log.find("data folder " + file + " (from --data) is a file, not a folder"), std::string::npos) << log;
  fs::remove(file);
  REQUIRE_DATA();
  const std::string missing = fresh_dir("mistyped");
  EXPECT_NE(run("ptb-compare", "--preset smoke --results-only --out " + missing, log), 0) << log;
  EXPECT_NE(log.find("--results-only: " + missing + " holds no sweep"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(missing));
}

// `--branch 0 --of 2` and `--branch 1 --of 2` started together: one trains the prefix, the
// other waits for it; each branch is trained once.
TEST(SweepSafety, ConcurrentShardsTrainThePrefixOnce) {
  REQUIRE_DATA();
  const std::string out = fresh_dir("concurrent");
  const std::string args = "--preset smoke --only lowrank --ratios 0.5 --out " + out;
  const std::string log0 = fresh_dir("log0") + ".log", log1 = fresh_dir("log1") + ".log";
  const std::string both = "(" + shell_command("ptb-compare", args + " --branch 0 --of 2", log0, data_dir()) + "; echo $? > '" +
                           log0 + ".rc') & (" + shell_command("ptb-compare", args + " --branch 1 --of 2", log1, data_dir()) +
                           "; echo $? > '" + log1 + ".rc') & wait";
  ASSERT_EQ(std::system(("bash -c \"" + both + "\"").c_str()), 0);
  const std::string a = mc::read_file(log0), b = mc::read_file(log1);
  EXPECT_EQ(mc::read_file(log0 + ".rc"), "0\n") << a;
  EXPECT_EQ(mc::read_file(log1 + ".rc"), "0\n") << b;
  EXPECT_EQ(count(a + b, "[prefix] training steps"), 1u) << a << "\n----\n" << b;
  std::set<int64_t> steps;
  size_t rows = 0;
  std::istringstream in(mc::read_file(out + "/prefix/log.jsonl"));
  for (std::string line; std::getline(in, line); ++rows) steps.insert(nlohmann::json::parse(line)["step"].get<int64_t>());
  EXPECT_EQ(rows, steps.size()) << "a prefix step was logged twice";
  EXPECT_TRUE(fs::exists(out + "/branches/none/result.json"));
  EXPECT_TRUE(fs::exists(out + "/branches/lowrank-0.5/result.json"));
  for (const std::string& f : {log0, log1, log0 + ".rc", log1 + ".rc"}) fs::remove(f);
  fs::remove_all(out);
}
