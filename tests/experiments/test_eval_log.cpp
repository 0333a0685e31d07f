// Evaluation during training (--eval-every), end to end on the real data with --preset smoke:
// the metric is logged at the right steps beside the loss, it does not change the training,
// and a run killed mid-prefix and resumed logs exactly what an uninterrupted run logs.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>
#include <vector>
#include <thread>

#include <nlohmann/json.hpp>

#include "real_data.h"
#include "matcomp/core/atomic_file.h"
#include "matcomp/datasets/data_dir.h"
#include "experiments/lib/cifar10_task.h"
#include "experiments/lib/ptb_task.h"

namespace fs = std::filesystem;

using matcomp_test::data_dir;

namespace {

std::string fresh_dir(const std::string& name) {
  const std::string dir = (fs::temp_directory_path() / ("matcomp-evallog-" + name + "-" + std::to_string(::getpid()))).string();
  fs::remove_all(dir);
  return dir;
}

std::string command(const std::string& args, const std::string& log_path) {
  return std::string(MATCOMP_BINARY_DIR) + "/bin/ptb-compare --data '" + data_dir() + "' --threads 2 " + args + " > '" + log_path +
         "' 2>&1";
}

int run(const std::string& args, std::string& log) {
  const std::string log_path = fresh_dir("log") + ".log";
  const int rc = std::system(command(args, log_path).c_str());
  log = mc::read_file(log_path);
  fs::remove(log_path);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// A log's rows without the wall-clock columns (which differ between any two runs).
std::vector<nlohmann::json> rows_without_times(const std::string& jsonl) {
  std::vector<nlohmann::json> rows;
  std::istringstream in(mc::read_file(jsonl));
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    nlohmann::json row = nlohmann::json::parse(line);
    row.erase("seconds");
    row.erase("eval_seconds");
    rows.push_back(row);
  }
  return rows;
}

std::set<int64_t> evaluated_steps(const std::vector<nlohmann::json>& rows) {
  std::set<int64_t> steps;
  for (const auto& r : rows)
    if (r.contains("metric")) steps.insert(r["step"].get<int64_t>());
  return steps;
}

const char* const kArgs = "--preset smoke --only lowrank --ratios 0.5 --out ";
const char* const kLogs[] = {"prefix/log.jsonl", "branches/none/log.jsonl", "branches/lowrank-0.5/log.jsonl"};

}  // namespace

TEST(EvalLog, LoggedAtTheRightStepsWithoutChangingTrainingAndEqualAfterAKilledRunResumes) {
  REQUIRE_DATA();
  const std::string full = fresh_dir("full"), killed = fresh_dir("killed"), silent = fresh_dir("silent");
  std::string log;
  // The smoke preset evaluates every 10 steps: prefix 0..19, branches 20..29.
  ASSERT_EQ(run(kArgs + full, log), 0) << log;
  const auto prefix = rows_without_times(full + "/prefix/log.jsonl");
  EXPECT_EQ(evaluated_steps(prefix), (std::set<int64_t>{0, 10, 19})) << "every 10th step and the prefix's last";
  for (const char* branch : {"branches/none/log.jsonl", "branches/lowrank-0.5/log.jsonl"})
    EXPECT_EQ(evaluated_steps(rows_without_times(full + "/" + branch)), (std::set<int64_t>{20, 29})) << branch;
  for (const auto& r : prefix)
    if (r.contains("metric")) {
      EXPECT_EQ(r["metric_name"], "valid_perplexity");
      EXPECT_GT(r["metric"].get<double>(), 1.0);
      EXPECT_LT(r["metric"].get<double>(), 20000.0);  // a 10000-word vocabulary, barely trained
    }
  const std::string csv = mc::read_file(full + "/prefix/log.csv");
  EXPECT_EQ(csv.rfind("step,loss,lr,alpha,stored_bytes,metric,seconds,metric_name,eval_seconds\n", 0), 0u) << csv.substr(0, 120);
  EXPECT_NE(csv.find(",valid_perplexity,"), std::string::npos);
  const std::string curves = mc::read_file(full + "/training_curves.svg");
  EXPECT_NE(curves.find("validation perplexity"), std::string::npos) << "no metric panel";
  EXPECT_NE(curves.find("class=\"band\""), std::string::npos) << "no shaded compression window";

  // Without evaluation: the same training, step for step, and the same results.
  ASSERT_EQ(run(std::string("--eval-every 0 ") + kArgs + silent, log), 0) << log;
  for (const char* path : kLogs) {
    auto with = rows_without_times(full + "/" + path);
    const auto without = rows_without_times(silent + "/" + path);
    EXPECT_TRUE(evaluated_steps(without).empty()) << path;
    // (Smoke evaluates at logged steps only, so both logs have the same rows.)
    for (auto& r : with)
      for (const char* key : {"metric", "metric_name"}) r.erase(key);
    EXPECT_EQ(with, without) << path << ": evaluation changed the training";
  }
  const std::string results_a = mc::read_file(full + "/results.csv"), results_b = mc::read_file(silent + "/results.csv");
  const auto drop_times = [](const std::string& csv_text) {  // infer_ms and train_seconds are timings
    std::string out;
    std::istringstream in(csv_text);
    for (std::string line; std::getline(in, line);) {
      std::vector<std::string> cells;
      std::stringstream cs(line);
      for (std::string c; std::getline(cs, c, ',');) cells.push_back(c);
      for (size_t i : std::vector<size_t>{0, 1, 2, 3, 4, 5, 6, 8, 9}) out += (i < cells.size() ? cells[i] : "") + ",";  // method..perplexity, final_loss, steps
      out += "\n";
    }
    return out;
  };
  EXPECT_EQ(drop_times(results_a), drop_times(results_b));

  // Killed (SIGKILL) after the prefix's checkpoint at step 10, then run again: it resumes from
  // step 10 and its logs, evaluations included, equal the uninterrupted run's.
  const std::string log_path = fresh_dir("killed-log") + ".log";
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", ("exec " + command(kArgs + killed, log_path)).c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  while (!fs::exists(killed + "/prefix/progress.safetensors") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  fs::remove(log_path);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run ended before it could be killed";
  ASSERT_FALSE(fs::exists(killed + "/prefix/at-begin.safetensors")) << "killed after the prefix, not during it";
  ASSERT_EQ(run(kArgs + killed, log), 0) << log;
  EXPECT_NE(log.find("[prefix] training steps 10 to 20"), std::string::npos) << log;
  for (const char* path : kLogs)
    EXPECT_EQ(rows_without_times(killed + "/" + path), rows_without_times(full + "/" + path)) << path << " differs after the resume";
  EXPECT_EQ(drop_times(mc::read_file(killed + "/results.csv")), drop_times(results_a));
  for (const std::string& d : {full, killed, silent}) fs::remove_all(d);
}

namespace {

// Whether two SVG texts are the same drawing: equal apart from numbers, which may differ by
// up to 0.01 user units (a hundredth of a pixel at 72 per inch).
::testing::AssertionResult same_drawing(const std::string& a, const std::string& b) {
  const auto split = [](const std::string& text, std::string& words, std::vector<double>& numbers) {
    for (size_t i = 0; i < text.size();) {
      char* end = nullptr;
      const bool number_starts = std::isdigit(static_cast<unsigned char>(text[i])) ||
                                 (text[i] == '-' && i + 1 < text.size() && std::isdigit(static_cast<unsigned char>(text[i + 1])));
      if (number_starts) {
        numbers.push_back(std::strtod(text.c_str() + i, &end));
        words += '#';
        i = static_cast<size_t>(end - text.c_str());
      } else {
        words += text[i++];
      }
    }
  };
  std::string words_a, words_b;
  std::vector<double> numbers_a, numbers_b;
  split(a, words_a, numbers_a);
  split(b, words_b, numbers_b);
  if (words_a != words_b) return ::testing::AssertionFailure() << "the drawings differ in more than their numbers";
  for (size_t i = 0; i < numbers_a.size(); ++i)
    if (std::fabs(numbers_a[i] - numbers_b[i]) > 0.01)
      return ::testing::AssertionFailure() << "number " << i << ": " << numbers_a[i] << " against " << numbers_b[i];
  return ::testing::AssertionSuccess();
}

}  // namespace

// A published sweep keeps its logs as CSV only (docs/results/ holds no .jsonl): --results-only
// there redraws the same training curves, and a branch with no log at all is left out, saying so
// (an empty figure drawn in silence was the behaviour before).
TEST(EvalLog, PublishedSweepWithCsvLogsOnlyRedrawsTheSameTrainingCurves) {
  REQUIRE_DATA();
  const std::string full = fresh_dir("curves"), published = fresh_dir("published");
  std::string log;
  ASSERT_EQ(run(kArgs + full, log), 0) << log;
  fs::copy(full, published, fs::copy_options::recursive);
  for (const auto& e : fs::recursive_directory_iterator(published))
    if (e.path().extension() == ".jsonl" || e.path().extension() == ".safetensors") fs::remove(e.path());
  fs::remove(published + "/training_curves.svg");
  const std::string redraw = "--preset smoke --only lowrank --ratios 0.5 --results-only --out ";
  ASSERT_EQ(run(redraw + published, log), 0) << log;
  // The CSV keeps 7 significant digits of what the JSONL keeps in full: coordinates may move
  // in their last printed digit, far below a pixel.
  EXPECT_TRUE(same_drawing(mc::read_file(published + "/training_curves.svg"), mc::read_file(full + "/training_curves.svg")));
  EXPECT_EQ(log.find("left out of the figure"), std::string::npos) << log;

  fs::remove(published + "/branches/lowrank-0.5/log.csv");
  ASSERT_EQ(run(redraw + published, log), 0) << log;
  EXPECT_NE(log.find("lowrank-0.5 has no log.jsonl or log.csv: left out of the figure"), std::string::npos) << log;
  for (const std::string& d : {full, published}) fs::remove_all(d);
}

namespace {

// Trains steps 0..5, evaluating the progress metric after steps 1 and 3 or not at all; returns
// the losses and the final test metric.
std::vector<double> train_with_or_without_evaluation(mc::ExperimentTask& task, bool evaluate) {
  task.init(7);
  std::vector<double> out;
  for (int64_t step = 0; step < 6; ++step) {
    out.push_back(task.train_step(step, nullptr));
    if (evaluate && (step == 1 || step == 3)) {
      const double metric = task.evaluate_progress();
      EXPECT_TRUE(std::isfinite(metric)) << task.progress_metric();
    }
  }
  out.push_back(task.evaluate());
  return out;
}

}  // namespace

// The state a recipe keeps beside the weights: the CIFAR-10 weight average (EMA), which the
// evaluation swaps in and back, and the PTB dropout masks, drawn from the training RNG in
// training mode only. Evaluating between steps leaves every later loss the same, bit for bit.
TEST(EvalLog, EvaluationLeavesTheEmaAndTheDropoutRngAsTheyWere) {
  REQUIRE_DATA();
  mc::Cifar10Recipe cifar;
  cifar.batch = 32, cifar.ema_decay = 0.9f, cifar.eval_images = 64, cifar.progress_images = 32;
  mc::Cifar10Task cnn(mc::data::cifar10_dir(data_dir()), cifar);
  EXPECT_EQ(cnn.progress_metric(), "test_accuracy_first_32");
  const auto cnn_plain = train_with_or_without_evaluation(cnn, false);
  EXPECT_EQ(train_with_or_without_evaluation(cnn, true), cnn_plain);

  mc::PtbRecipe ptb;
  ptb.model.hidden = 32, ptb.model.unroll = 5, ptb.model.dropout = 0.5f;
  ptb.eval_windows = 2, ptb.valid_windows = 2;
  mc::PtbTask lstm(mc::data::ptb_dir(data_dir()), ptb);
  EXPECT_EQ(lstm.progress_metric(), "valid_perplexity");
  const auto lstm_plain = train_with_or_without_evaluation(lstm, false);
  EXPECT_EQ(train_with_or_without_evaluation(lstm, true), lstm_plain);
}
