// matcomp-demo: the project's idea in about a second, with no data to download.
//
// A small network (2 -> 64 -> 64 -> 3) learns a generated task, three interleaved spirals.
// After a shared dense start, its middle matrix A (64 x 64, "fc2.weight") is compressed
// *during training* by every registered method at a few ratios, each branch starting from the
// same trained model:
//   - blending methods: W = alpha A + (1 - alpha) B C, alpha falling by --alpha-step every
//     --frequency steps from --begin; when alpha reaches 0, A is dropped;
//   - pruning: the sparsity ramps from 0 to its target between --begin and the hand-over step.
// Printed: the loss of one branch around the hand-over (the blend at work), then one row per
// branch: method, target ratio, stored bytes of A's replacement, test accuracy.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tools/cli/cli_conventions.h"
#include "matcomp/autograd/ops.h"
#include "matcomp/compression/apply_compression.h"
#include "matcomp/compression/registry.h"
#include "matcomp/core/error.h"
#include "matcomp/core/parallel.h"
#include "matcomp/core/rng.h"
#include "matcomp/layers/modules/dense.h"
#include "matcomp/layers/modules/init.h"
#include "matcomp/layers/optim/sgd.h"

namespace {

struct Data {
  mc::Tensor x;  // (N, 2)
  std::vector<int32_t> y;
};

constexpr int32_t kArms = 5;

// kArms interleaved spiral arms in 2-D (one class each), `per_class` points each, with a
// little noise; each arm turns by more than a full circle, so the classes are hard to separate.
Data make_spirals(int64_t per_class, mc::Rng& rng) {
  Data d{mc::Tensor::empty({kArms * per_class, 2}), std::vector<int32_t>(static_cast<size_t>(kArms * per_class))};
  for (int32_t c = 0; c < kArms; ++c)
    for (int64_t i = 0; i < per_class; ++i) {
      const float r = static_cast<float>(i + 1) / static_cast<float>(per_class);
      const float t = 6.2831853f * static_cast<float>(c) / kArms + 7.0f * r + rng.normal(0.0f, 0.1f);
      const int64_t row = c * per_class + i;
      d.x.data()[2 * row] = r * std::sin(t);
      d.x.data()[2 * row + 1] = r * std::cos(t);
      d.y[static_cast<size_t>(row)] = c;
    }
  return d;
}

class SpiralNet : public mc::Module {
 public:
  SpiralNet(int64_t hidden, mc::Rng& rng) {
    register_module("fc1", std::make_shared<mc::Dense>(mc::glorot_uniform(2, hidden, rng)));
    register_module("fc2", std::make_shared<mc::Dense>(mc::glorot_uniform(hidden, hidden, rng)));
    register_module("fc3", std::make_shared<mc::Dense>(mc::glorot_uniform(hidden, kArms, rng)));
  }
  std::string type() const override { return "SpiralNet"; }
  mc::Var forward(const mc::Var& x) {
    mc::Var h = mc::relu(child<mc::Dense>("fc1")->forward(x));
    return child<mc::Dense>("fc3")->forward(mc::relu(child<mc::Dense>("fc2")->forward(h)));
  }
};

double accuracy(SpiralNet& model, const Data& d) {
  mc::NoGradGuard no_grad;
  const mc::Tensor logits = model.forward(mc::Var(d.x)).value();
  int64_t correct = 0;
  for (int64_t i = 0; i < logits.size(0); ++i) {
    const float* row = logits.data() + kArms * i;
    correct += (std::max_element(row, row + kArms) - row) == d.y[static_cast<size_t>(i)];
  }
  return static_cast<double>(correct) / static_cast<double>(d.y.size());
}

struct Settings {
  uint64_t seed = 1;
  int64_t hidden = 64, per_class = 60, begin = 800, steps = 950, frequency = 10;
  double alpha_step = 0.2;
  float lr = 0.05f, momentum = 0.9f;
  std::vector<double> ratios{0.5, 0.25, 0.1};
  std::string show = "lowrank";  // the branch whose loss is printed around the hand-over
};

// Trains `model` from step `from` to `to` (exclusive); `on_step` sees each step's loss.
template <class OnStep>
void train(SpiralNet& model, mc::SGD& sgd, const Data& train_set, int64_t from, int64_t to,
           mc::CompressionController* compression, OnStep on_step) {
  for (int64_t step = from; step < to; ++step) {
    if (compression) compression->before_step(step);
    mc::Var loss = mc::softmax_cross_entropy(model.forward(mc::Var(train_set.x)), train_set.y);
    sgd.zero_grad();
    loss.backward();
    if (compression) compression->after_backward(step);
    sgd.step();
    if (compression) compression->after_optimizer_step(step);
    on_step(step, loss.value().item());
  }
}

int run_demo(const Settings& s) {
  const auto started = std::chrono::steady_clock::now();
  mc::Rng data_rng(s.seed);
  const Data train_set = make_spirals(s.per_class, data_rng), test_set = make_spirals(s.per_class, data_rng);

  // The shared start: dense training up to --begin. Every branch copies these values.
  mc::Rng init_rng(s.seed + 1);
  SpiralNet trained(s.hidden, init_rng);
  mc::SGD sgd(trained, s.lr, {s.momentum});
  train(trained, sgd, train_set, 0, s.begin, nullptr, [](int64_t, float) {});
  std::map<std::string, mc::Tensor> start;
  for (auto& [name, p] : trained.named_parameters()) start[name] = p.value().clone();
  std::printf("dense training to step %lld: test accuracy %.3f\n\n", static_cast<long long>(s.begin), accuracy(trained, test_set));

  struct Row {
    std::string method;
    double ratio;
    int64_t stored_bytes;
    double accuracy;
  };
  std::vector<Row> rows;
  const int64_t hand_over = mc::BlendSchedule{s.begin, -1, s.frequency, s.alpha_step}.switch_step();  // alpha = 0
  const auto branch = [&](const std::string& method, double ratio) {
    mc::Rng unused(s.seed + 1);
    SpiralNet model(s.hidden, unused);
    for (auto& [name, p] : model.named_parameters()) p.value().copy_from(start.at(name));
    mc::SGD branch_sgd(model, s.lr, {s.momentum});
    std::unique_ptr<mc::CompressionController> compression;
    if (method != "none") {
      mc::CompressionSpec spec;
      spec.include = {"fc2.weight"};
      spec.compressor = mc::by_ratio(method, ratio);
      if (method == "prune")
        spec.pruning = mc::SparsitySchedule{s.begin, std::max(hand_over, s.begin + 1), s.frequency, 0.0, -1.0};
      else
        spec.schedule = mc::BlendSchedule{s.begin, -1, s.frequency, s.alpha_step};
      compression = mc::apply_compression(model, spec, s.seed);
      compression->on_event = [](int64_t, const mc::CompressionController&) {};
    }
    const bool shown = method == s.show && ratio == s.ratios.back();
    if (shown)
      std::printf("%s at ratio %g: loss around the hand-over (alpha falls by %g every %lld steps from step %lld)\n"
                  "step   alpha  loss\n",
                  method.c_str(), ratio, s.alpha_step, static_cast<long long>(s.frequency), static_cast<long long>(s.begin));
    train(model, branch_sgd, train_set, s.begin, s.steps, compression.get(), [&](int64_t step, float loss) {
      const bool near = step >= s.begin - 2 * s.frequency && step <= hand_over + 4 * s.frequency;
      if (shown && near && step % std::max<int64_t>(1, s.frequency / 2) == 0)
        std::printf("%5lld  %.2f   %.4f\n", static_cast<long long>(step), compression->report()[0].alpha, loss);
    });
    if (shown) std::printf("\n");
    const int64_t stored = compression ? compression->report_json()["selected_stored_bytes"].get<int64_t>()
                                       : 4 * s.hidden * s.hidden;
    rows.push_back({method, method == "none" ? 1.0 : ratio, stored, accuracy(model, test_set)});
  };

  branch("none", 1.0);
  for (const std::string& method : mc::registered_methods())
    for (double ratio : s.ratios) {
      try {
        branch(method, ratio);
      } catch (const mc::ValueError& e) {  // a method without a ratio rule, or a ratio it cannot reach
        std::fprintf(stderr, "matcomp-demo: %s at ratio %g skipped: %s\n", method.c_str(), ratio, e.what());
      }
    }

  std::printf("%-11s %6s %13s %9s\n", "method", "ratio", "stored_bytes", "accuracy");
  for (const Row& r : rows)
    std::printf("%-11s %6g %13lld %9.3f\n", r.method.c_str(), r.ratio, static_cast<long long>(r.stored_bytes), r.accuracy);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("\n%zu branches of %lld steps after a shared start of %lld, %.2f s. fc2.weight is %lld x %lld (%lld bytes dense).\n",
              rows.size(), static_cast<long long>(s.steps - s.begin), static_cast<long long>(s.begin), seconds,
              static_cast<long long>(s.hidden), static_cast<long long>(s.hidden), static_cast<long long>(4 * s.hidden * s.hidden));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"matcomp demo: a small network on a generated spiral task, compressed during training by every method"};
  mc::cli::setup(app, "matcomp-demo");
  Settings s;
  int threads = 1;
  app.add_option("--seed", s.seed, "random seed (data, initial weights, factorizations)");
  app.add_option("--hidden", s.hidden, "hidden units (the compressed matrix is hidden x hidden)")->check(CLI::Range(4, 1024));
  app.add_option("--points", s.per_class, "training points per class (as many again for the test)")->check(CLI::Range(2, 100000));
  app.add_option("--begin", s.begin, "step at which compression begins (dense training before)")->check(CLI::PositiveNumber);
  app.add_option("--steps", s.steps, "total training steps")->check(CLI::PositiveNumber);
  app.add_option("--frequency", s.frequency, "steps between alpha updates")->check(CLI::PositiveNumber);
  app.add_option("--alpha-step", s.alpha_step, "alpha lowered by this at each update")->check(CLI::Range(0.01, 1.0));
  app.add_option("--lr", s.lr, "SGD learning rate")->check(CLI::PositiveNumber);
  app.add_option("--momentum", s.momentum, "SGD momentum")->check(CLI::Range(0.0, 0.999));
  app.add_option("--ratios", s.ratios, "target ratios (stored / dense size of the matrix)")->delimiter(',')->check(CLI::Range(1e-6, 0.999999));
  app.add_option("--show", s.show, "method whose loss is printed around the hand-over (at the smallest ratio)");
  app.add_option("--threads", threads, "OpenMP/BLAS threads (the task is tiny: 1 is fastest)")->check(CLI::PositiveNumber);
  if (const int rc = mc::cli::parse(app, argc, argv); rc >= 0) return rc;
  if (s.steps <= s.begin) return mc::cli::usage_error("matcomp-demo", "--steps must be larger than --begin");
  mc::set_num_threads(threads);
  return mc::cli::run("matcomp-demo", [&] { return run_demo(s); });
}
