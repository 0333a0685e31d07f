// The comparison binaries end to end on the real data (--preset smoke): outputs exist and
// parse, a finished sweep is never recomputed, and a sweep split over processes
// (--branch K --of N) gives the same results as a serial one.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "real_data.h"
#include "matcomp/core/atomic_file.h"
#include "matcomp/layers/kernels/layer_gemm.h"
#include "tools/cli/cli_conventions.h"

namespace fs = std::filesystem;

using matcomp_test::data_dir;

namespace {

std::string out_dir(const std::string& name) {
  const std::string dir = (fs::temp_directory_path() / ("matcomp-smoke-" + name + "-" + std::to_string(::getpid()))).string();
  fs::remove_all(dir);
  return dir;
}

// Runs a binary from the build's bin/ with the data folder; returns the exit code, output in `log`.
// `launcher` goes before the binary (e.g. mpiexec and its flags).
int run(const std::string& binary, const std::string& args, std::string* log = nullptr, int threads = 2,
        const std::string& launcher = "") {
  const std::string log_path = (fs::temp_directory_path() / ("matcomp-smoke-" + std::to_string(::getpid()) + ".log")).string();
  const std::string cmd = launcher + std::string(MATCOMP_BINARY_DIR) + "/bin/" + binary + " --data '" + data_dir() +
                          "' --threads " + std::to_string(threads) + " " + args + " > '" + log_path + "' 2>&1";
  const int rc = std::system(cmd.c_str());
  if (log) *log = mc::read_file(log_path);
  fs::remove(log_path);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// results.csv as rows of column -> cell.
std::vector<std::map<std::string, std::string>> read_csv(const std::string& path) {
  std::istringstream in(mc::read_file(path));
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  std::stringstream h(line);
  for (std::string c; std::getline(h, c, ',');) header.push_back(c);
  std::vector<std::map<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    std::stringstream r(line);
    std::map<std::string, std::string> row;
    size_t i = 0;
    for (std::string c; std::getline(r, c, ',') && i < header.size(); ++i) row[header[i]] = c;
    rows.push_back(row);
  }
  return rows;
}

// Two sweeps' results.csv agree on everything but timings.
void expect_same_results(const std::string& dir_a, const std::string& dir_b, size_t rows) {
  const auto a = read_csv(dir_a + "/results.csv"), b = read_csv(dir_b + "/results.csv");
  ASSERT_EQ(a.size(), rows);
  ASSERT_EQ(b.size(), rows);
  for (size_t i = 0; i < rows; ++i)
    for (const char* col : {"method", "ratio", "stored_bytes", "disk_bytes", "perplexity", "final_loss"})
      EXPECT_EQ(a[i].at(col), b[i].at(col)) << col << " of row " << i;
}

void expect_svg(const std::string& path) {
  ASSERT_TRUE(fs::exists(path)) << path;
  const std::string svg = mc::read_file(path);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u) << path;
  EXPECT_NE(svg.find("</svg>"), std::string::npos) << path;
  EXPECT_NE(svg.find("<polyline"), std::string::npos) << path << " draws no line";
}

}  // namespace

TEST(CompareSmoke, Cifar10WritesEveryOutputAndSkipsFinishedBranches) {
  REQUIRE_DATA();
  const std::string out = out_dir("cifar");
  std::string log;
  ASSERT_EQ(run("cifar10-compare", "--preset smoke --ratios 0.25 --out " + out, &log), 0) << log;
  const auto rows = read_csv(out + "/results.csv");
  ASSERT_EQ(rows.size(), 8u) << "baseline + 7 methods";
  std::set<std::string> methods;
  for (const auto& r : rows) {
    methods.insert(r.at("method"));
    for (const char* col : {"ratio", "stored_bytes", "disk_bytes", "accuracy", "infer_ms"})
      EXPECT_FALSE(r.at(col).empty()) << col << " of " << r.at("method");
    const double acc = std::stod(r.at("accuracy"));
    EXPECT_GE(acc, 0.0);
    EXPECT_LE(acc, 1.0);
    EXPECT_GT(std::stod(r.at("disk_bytes")), 0.0);
    if (r.at("method") != "none") {
      EXPECT_LE(std::stod(r.at("achieved_ratio")), 0.25 + 1e-9) << r.at("method");
    }
  }
  EXPECT_EQ(methods, (std::set<std::string>{"none", "lowrank", "simhash", "kmeans", "dictionary", "prune", "prune_grad", "quantize"}));
  // In the sweep's order (baseline, then the default method order), and printed as a table.
  const std::vector<std::string> order{"none", "lowrank", "simhash", "kmeans", "dictionary", "prune", "prune_grad", "quantize"};
  for (size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i].at("method"), order[i]) << "row " << i;
  EXPECT_NE(log.find("ratio  achieved_ratio  stored_bytes"), std::string::npos) << log;  // the header, aligned
  EXPECT_LT(log.find("\nnone  "), log.find("\nprune_grad  ")) << log;
  for (const char* plot : {"accuracy_vs_ratio.svg", "accuracy_vs_disk.svg", "training_curves.svg"}) expect_svg(out + "/" + plot);
  // Per-branch logs and the compression report.
  const auto log_text = mc::read_file(out + "/branches/lowrank-0.25/log.jsonl");
  const auto first = nlohmann::json::parse(log_text.substr(0, log_text.find('\n')));
  for (const char* key : {"step", "loss", "lr", "alpha", "stored_bytes"}) EXPECT_TRUE(first.contains(key)) << key;
  bool has_report = false;
  for (const auto& e : fs::directory_iterator(out + "/branches/lowrank-0.25"))
    if (e.path().filename().string().rfind("compression-step-", 0) == 0) {
      const auto report = nlohmann::json::parse(mc::read_file(e.path().string()));
      has_report = report.contains("layers") && report["layers"].size() == 2;
    }
  EXPECT_TRUE(has_report);
  const auto info = nlohmann::json::parse(mc::read_file(out + "/run-0-of-1.json"));
  for (const char* key : {"command", "seed", "git_revision", "threads", "blas_threading", "blas_config", "blas_kernel"})
    EXPECT_TRUE(info.contains(key)) << key;
  // The revision the binary was built from (as --version prints it), not asked of the checkout
  // at run time: both binaries here come from the same build.
  EXPECT_EQ(info["git_revision"], mc::cli::git_revision());
  // Each branch names the revision that trained it, in result.json and in results.csv.
  EXPECT_EQ(nlohmann::json::parse(mc::read_file(out + "/branches/lowrank-0.25/result.json"))["revision"], mc::cli::git_revision());
  for (const auto& row : rows) EXPECT_EQ(row.at("revision"), mc::cli::git_revision()) << row.at("method");
  // The kernel OpenBLAS chose, and the environment variable that can force it (null where unset).
  EXPECT_FALSE(info["blas_kernel"].get<std::string>().empty());
  EXPECT_NE(info["blas_config"].get<std::string>().find("OpenBLAS"), std::string::npos) << info["blas_config"];
  EXPECT_TRUE(info["blas_environment"].contains("OPENBLAS_CORETYPE"));
  EXPECT_EQ(info["gemm"], mc::layer_gemm_name(mc::layer_gemm()));
  // The processor (two machines may share a host name): the model name where /proc/cpuinfo has
  // one (x86 Linux does; some ARM kernels do not, and the field is then empty).
  ASSERT_TRUE(info.contains("cpu") && info["cpu"].is_string());
  if (mc::read_file("/proc/cpuinfo").find("model name") != std::string::npos) {
    EXPECT_FALSE(info["cpu"].get<std::string>().empty());
  }
  EXPECT_GE(info["logical_cpus"].get<int>(), 1);

  // A second run finds every branch finished and trains nothing.
  const std::string before = mc::read_file(out + "/results.csv");
  ASSERT_EQ(run("cifar10-compare", "--preset smoke --ratios 0.25 --out " + out, &log), 0) << log;
  EXPECT_EQ(log.find("steps/s"), std::string::npos) << log;
  EXPECT_NE(log.find("already finished"), std::string::npos) << log;
  EXPECT_EQ(mc::read_file(out + "/results.csv"), before);
  // ... and keeps the first run's record under earlier_runs.
  const auto again = nlohmann::json::parse(mc::read_file(out + "/run-0-of-1.json"));
  ASSERT_TRUE(again.contains("earlier_runs")) << again.dump();
  ASSERT_EQ(again["earlier_runs"].size(), 1u);
  EXPECT_EQ(again["earlier_runs"][0]["started_utc"], info["started_utc"]);
  fs::remove_all(out);
}

TEST(CompareSmoke, PtbShardedSweepEqualsSerialSweep) {
  REQUIRE_DATA();
  const std::string serial = out_dir("ptb-serial"), sharded = out_dir("ptb-sharded");
  const std::string args = "--preset smoke --only lowrank,prune --ratios 0.5,0.1 --out ";
  std::string log;
  ASSERT_EQ(run("ptb-compare", args + serial, &log), 0) << log;
  ASSERT_EQ(run("ptb-compare", args + sharded + " --branch 1 --of 2", &log), 0) << log;
  ASSERT_EQ(run("ptb-compare", args + sharded + " --branch 0 --of 2", &log), 0) << log;
  expect_same_results(serial, sharded, 5);
  fs::remove_all(serial);
  fs::remove_all(sharded);
}

// --seeds: one complete sweep per seed, and a summary whose mean, spread and per-seed values
// come from those sweeps; seed 1's folder equals a plain --seed 1 sweep.
TEST(CompareSmoke, SeedsRunOneSweepEachAndSummariseThem) {
  REQUIRE_DATA();
  const std::string out = out_dir("ptb-seeds"), plain = out_dir("ptb-seed1");
  const std::string args = "--preset smoke --only lowrank --ratios 0.5 --out ";
  std::string log;
  ASSERT_EQ(run("ptb-compare", args + out + " --seeds 1,2", &log), 0) << log;
  ASSERT_EQ(run("ptb-compare", args + plain + " --seed 1", &log), 0) << log;
  expect_same_results(out + "/seed-1", plain, 2);
  const auto one = read_csv(out + "/seed-1/results.csv"), two = read_csv(out + "/seed-2/results.csv");
  const auto summary = read_csv(out + "/results.csv");
  ASSERT_EQ(summary.size(), 2u) << "baseline + lowrank-0.5";
  for (size_t i = 0; i < summary.size(); ++i) {
    const auto& row = summary[i];
    EXPECT_EQ(row.at("method"), one[i].at("method"));
    EXPECT_EQ(row.at("seeds"), "2");
    const double a = std::stod(one[i].at("perplexity")), b = std::stod(two[i].at("perplexity"));
    EXPECT_NE(a, b) << "seeds 1 and 2 trained the same model";
    EXPECT_NEAR(std::stod(row.at("perplexity")), (a + b) / 2, 1e-5 * a);
    EXPECT_NEAR(std::stod(row.at("perplexity_std")), std::fabs(a - b) / std::sqrt(2.0), 1e-5 * a);
    EXPECT_NEAR(std::stod(row.at("perplexity_min")), std::min(a, b), 1e-5 * a);
    EXPECT_NEAR(std::stod(row.at("perplexity_max")), std::max(a, b), 1e-5 * a);
    if (i > 0) {  // paired with the same seed's baseline (row 0)
      const double base_a = std::stod(one[0].at("perplexity")), base_b = std::stod(two[0].at("perplexity"));
      const double change_a = a - base_a, change_b = b - base_b;
      EXPECT_NEAR(std::stod(row.at("perplexity_vs_none")), (change_a + change_b) / 2, 1e-5 * a);
      EXPECT_NEAR(std::stod(row.at("perplexity_vs_none_std")), std::fabs(change_a - change_b) / std::sqrt(2.0), 1e-5 * a);
    } else {
      EXPECT_TRUE(row.at("perplexity_vs_none").empty());
    }
    EXPECT_EQ(row.at("perplexity_per_seed").rfind("1:", 0), 0u) << row.at("perplexity_per_seed");
    EXPECT_NE(row.at("perplexity_per_seed").find(" 2:"), std::string::npos) << row.at("perplexity_per_seed");
  }
  expect_svg(out + "/perplexity_vs_ratio.svg");
  EXPECT_NE(mc::read_file(out + "/perplexity_vs_ratio.svg").find("error-bar"), std::string::npos);
  for (const std::string seed : {"1", "2"}) expect_svg(out + "/seed-" + seed + "/training_curves.svg");

  // Bad seed lists are refused, naming the problem.
  EXPECT_NE(run("ptb-compare", args + out + " --seeds 1,1", &log), 0);
  EXPECT_NE(log.find("seed 1 is listed twice"), std::string::npos) << log;
  EXPECT_NE(run("ptb-compare", args + out + " --seeds 1,x", &log), 0);
  EXPECT_NE(log.find("'x' is not a seed"), std::string::npos) << log;
  EXPECT_NE(run("ptb-compare", args + out + " --seed 3 --seeds 1,2", &log), 0);
  EXPECT_NE(log.find("excludes"), std::string::npos) << log;
  fs::remove_all(out);
  fs::remove_all(plain);
}

#ifdef MATCOMP_MPIEXEC
namespace {
// Two ranks on this machine, as root in CI; before the binary in run().
std::string mpi_launcher() {
  return "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ASAN_OPTIONS=detect_leaks=0 timeout 600 " +
         std::string(MATCOMP_MPIEXEC) + " -np 2 --oversubscribe ";
}
}  // namespace

// --parallel branches under mpirun: rank 0 trains the prefix, the ranks share the branches,
// rank 0 writes results.csv, which equals a serial sweep's (one thread per process in both,
// so the sgemm partitioning is the same).
TEST(CompareSmoke, MpiBranchSweepEqualsSerialSweep) {
  REQUIRE_DATA();
  const std::string serial = out_dir("mpi-serial"), parallel = out_dir("mpi-parallel");
  const std::string args = "--preset smoke --only lowrank,kmeans --ratios 0.25 --out ";
  std::string log;
  ASSERT_EQ(run("ptb-compare", args + serial, &log, 1), 0) << log;
  ASSERT_EQ(run("ptb-compare", args + parallel + " --parallel branches", &log, 1, mpi_launcher()), 0) << log;
  EXPECT_TRUE(fs::exists(parallel + "/run-1-of-2.json")) << "rank 1 did not take part";
  expect_same_results(serial, parallel, 3);
  fs::remove_all(serial);
  fs::remove_all(parallel);
}

namespace {
std::vector<double> log_losses(const std::string& csv_path) {
  std::vector<double> losses;
  for (const auto& row : read_csv(csv_path)) losses.push_back(std::stod(row.at("loss")));
  return losses;
}
}  // namespace

// --parallel data: both ranks run every step on half of each batch. The sums of the gradients
// are ordered differently from a single process's, so the losses agree to float rounding at
// first and then drift apart slowly (SGD at lr 0.1 amplifies differences); a wrong shard or
// a missing reduction would show at the second logged step.
TEST(CompareSmoke, MpiDataParallelSweepFollowsSerialSweep) {
  REQUIRE_DATA();
  const std::string serial = out_dir("dp-serial"), parallel = out_dir("dp-parallel");
  const std::string args = "--preset smoke --only lowrank,prune_grad --ratios 0.5 --out ";
  std::string log;
  ASSERT_EQ(run("cifar10-compare", args + serial, &log, 1), 0) << log;
  ASSERT_EQ(run("cifar10-compare", args + parallel + " --parallel data", &log, 1, mpi_launcher()), 0) << log;
  EXPECT_FALSE(fs::exists(parallel + "/run-1-of-2.json")) << "data parallelism is one sweep, not two shards";

  const auto a = log_losses(serial + "/prefix/log.csv"), b = log_losses(parallel + "/prefix/log.csv");
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < 6; ++i) EXPECT_NEAR(b[i], a[i], 1e-5 * a[i]) << "prefix step " << 2 * i;
  const auto ra = read_csv(serial + "/results.csv"), rb = read_csv(parallel + "/results.csv");
  ASSERT_EQ(ra.size(), 3u);
  ASSERT_EQ(rb.size(), 3u);
  for (size_t i = 0; i < ra.size(); ++i) {
    for (const char* col : {"method", "ratio", "stored_bytes", "steps"}) EXPECT_EQ(ra[i].at(col), rb[i].at(col)) << col;
    EXPECT_NEAR(std::stod(rb[i].at("final_loss")), std::stod(ra[i].at("final_loss")), 0.01 * std::stod(ra[i].at("final_loss")));
    EXPECT_NEAR(std::stod(rb[i].at("accuracy")), std::stod(ra[i].at("accuracy")), 4.0 / 256);  // 256 test images
  }
  fs::remove_all(serial);
  fs::remove_all(parallel);
}

// A sweep started on 2 ranks and continued by one process: the checkpoints (with the PTB
// model's LSTM state, gathered from both ranks' streams) do not depend on the rank count.
TEST(CompareSmoke, DataParallelSweepContinuesOnOneProcess) {
  REQUIRE_DATA();
  const std::string dir = out_dir("dp-continue");
  std::string log;
  ASSERT_EQ(run("ptb-compare", "--preset smoke --only lowrank --ratios 0.25 --parallel data --out " + dir, &log, 1, mpi_launcher()), 0)
      << log;
  ASSERT_EQ(run("ptb-compare", "--preset smoke --only lowrank,prune --ratios 0.25 --out " + dir, &log, 1), 0) << log;
  EXPECT_NE(log.find("lowrank-0.25] already finished, skipped"), std::string::npos) << log;
  const auto rows = read_csv(dir + "/results.csv");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[2].at("method"), "prune");
  EXPECT_LT(std::stod(rows[2].at("perplexity")), 10000.0);  // trained from the 2-rank prefix, not diverged
  fs::remove_all(dir);
}
#endif

TEST(CompareSmoke, BadFlagsGiveClearErrors) {
  std::string log;
  EXPECT_NE(run("cifar10-compare", "--preset nope", &log), 0);
  EXPECT_NE(log.find("preset"), std::string::npos) << log;
  REQUIRE_DATA();
  EXPECT_NE(run("ptb-compare", "--preset smoke --ratios 1.5 --out " + out_dir("bad"), &log), 0);
  EXPECT_NE(log.find("--ratios: '1.5' is not a ratio in (0, 1)"), std::string::npos) << log;
  EXPECT_NE(run("ptb-compare", "--preset smoke --only svd --out " + out_dir("bad"), &log), 0);
  EXPECT_NE(log.find("unknown method 'svd'"), std::string::npos) << log;
  // A bad --recipe is a usage error (exit 2) that names the key, before any output exists.
  const std::string bad_recipe = out_dir("bad-recipe");
  EXPECT_EQ(run("cifar10-compare", "--preset fast --recipe momentum=3 --out " + bad_recipe, &log), 2);
  EXPECT_NE(log.find("momentum=3"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(bad_recipe));
  EXPECT_EQ(run("cifar10-compare", "--preset fast --total-steps 1 --out " + bad_recipe, &log), 2);
  EXPECT_EQ(run("ptb-compare", "--preset fast --out " + bad_recipe, &log), 1);
  EXPECT_NE(log.find("the fast preset is CIFAR-10's"), std::string::npos) << log;
}

// The fast preset shrunk to 60 steps (--total-steps): the momentum optimizer follows the live
// model through the blend into the factors and through the pruning mask, and the branches end
// compressed, with the recipe in the fingerprint.
TEST(CompareSmoke, FastPresetShrunkTrainsThroughTheCompression) {
  REQUIRE_DATA();
  const std::string out = out_dir("fast");
  std::string log;
  ASSERT_EQ(run("cifar10-compare", "--preset fast --total-steps 60 --only lowrank,prune --ratios 0.5 --eval-every 0 --out " + out,
                &log),
            0)
      << log;
  const auto rows = read_csv(out + "/results.csv");
  ASSERT_EQ(rows.size(), 3u);
  for (const auto& row : rows) {
    EXPECT_EQ(row.at("steps"), "60") << row.at("method");
    if (row.at("method") != "none") {
      EXPECT_LE(std::stod(row.at("achieved_ratio")), 0.5) << row.at("method");
    }
    EXPECT_GT(std::stod(row.at("accuracy")), 0.15) << row.at("method") << ": 60 steps learn more than chance";
  }
  const auto fingerprint = nlohmann::json::parse(mc::read_file(out + "/fingerprint.json"));
  EXPECT_EQ(fingerprint["recipe"]["schedule"], "cosine");
  EXPECT_EQ(fingerprint["recipe"]["cosine_steps"], 60);
  EXPECT_EQ(fingerprint["preset"]["begin_step"], 48);
  EXPECT_GT(fingerprint["recipe"]["momentum"].get<double>(), 0.0);
  fs::remove_all(out);
}
