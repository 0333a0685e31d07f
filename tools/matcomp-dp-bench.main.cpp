// matcomp-dp-bench: what data parallelism costs per training step. Each rank trains the
// reference model on random data of its shard of the global batch and times forward +
// backward, the wait for the slowest rank, the gradient all-reduce (GradientReducer) and the
// optimizer step separately.
//
//   mpirun -np 2 matcomp-dp-bench --model cifar                       # dense
//   mpirun -np 2 matcomp-dp-bench --model ptb --compress lowrank --ratio 0.25
//   matcomp-dp-bench --model cifar                                    # one process, no MPI traffic
//
// Compression (--compress lowrank) factors the model's large matrices at step 0 (CIFAR:
// local3 and local4; PTB: both LSTM kernels and the softmax weight) with an immediate switch,
// so the timed steps reduce only the factors. Rank 0 prints one JSON line; times are medians
// over the timed steps, averaged over ranks.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "tools/cli/cli_conventions.h"
#include "matcomp/autograd/ops.h"
#include "matcomp/compression/apply_compression.h"
#include "matcomp/core/error.h"
#include "matcomp/core/parallel.h"
#include "matcomp/core/rng.h"
#include "matcomp/distributed/gradient_reducer.h"
#include "matcomp/distributed/model_sync.h"
#include "matcomp/distributed/session.h"
#include "matcomp/layers/models/cifar10_cnn.h"
#include "matcomp/layers/models/ptb_lstm.h"
#include "matcomp/layers/optim/sgd.h"
#include "matcomp/layers/kernels/softmax_loss.h"

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Mean over ranks of a per-rank figure.
double rank_mean(mc::Communicator& comm, double v) {
  float x = static_cast<float>(v);
  comm.allreduce_sum(&x, 1);
  return x / comm.size();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"matcomp-dp-bench: per-step cost of data-parallel training (all-reduce time and bytes)"};
  mc::cli::setup(app, "matcomp-dp-bench");
  std::string model_name = "cifar", compress = "none";
  double ratio = 0.25, bucket_mib = 4.0;
  int steps = 20, warmup = 3, threads = 0;
  int64_t global_batch = 0;
  app.add_option("--model", model_name, "cifar (Cifar10Cnn) or ptb (PtbLstm small)")->check(CLI::IsMember({"cifar", "ptb"}));
  app.add_option("--compress", compress, "none or lowrank")->check(CLI::IsMember({"none", "lowrank"}));
  app.add_option("--ratio", ratio, "lowrank target ratio (stored / dense)");
  app.add_option("--steps", steps, "timed steps")->check(CLI::PositiveNumber);
  app.add_option("--warmup", warmup, "untimed steps first");
  app.add_option("--bucket-mib", bucket_mib, "all-reduce bucket size");
  app.add_option("--global-batch", global_batch, "examples per step over all ranks (default: the model's: 128 images, 20 sequences)");
  app.add_option("--threads", threads, "threads per rank (default: OMP_NUM_THREADS)");
  if (const int rc = mc::cli::parse(app, argc, argv); rc >= 0) return rc;

  mc::DistributedSession session;
  mc::Communicator& comm = session.world();
  try {
    mc::set_num_threads(threads);
    mc::Rng rng(1);
    std::unique_ptr<mc::Module> model;
    std::function<mc::Var()> loss_fn;
    std::vector<std::string> include;
    int64_t local_batch = 0;
    mc::Rng data_rng(100 + static_cast<uint64_t>(comm.rank()));
    mc::LstmState state;
    std::vector<int32_t> ids, targets, labels;
    mc::Tensor images;
    if (model_name == "cifar") {
      if (global_batch == 0) global_batch = 128;
      MC_CHECK(global_batch % comm.size() == 0, mc::ValueError, "--global-batch " << global_batch << " does not split over " << comm.size() << " ranks");
      local_batch = global_batch / comm.size();
      auto cnn = std::make_unique<mc::Cifar10Cnn>(mc::Cifar10CnnConfig{}, rng);
      images = mc::Tensor::empty({local_batch, 3, 24, 24});
      data_rng.fill_normal(images, 0, 1);
      for (int64_t i = 0; i < local_batch; ++i) labels.push_back(static_cast<int32_t>(i % 10));
      mc::Cifar10Cnn* net = cnn.get();
      loss_fn = [net, &images, &labels] { return mc::softmax_cross_entropy(net->forward(mc::Var(images)), labels); };
      include = {"local3.weight", "local4.weight"};
      model = std::move(cnn);
    } else {
      mc::PtbLstmConfig config = mc::PtbLstmConfig::small();
      if (global_batch == 0) global_batch = config.batch;
      MC_CHECK(global_batch % comm.size() == 0, mc::ValueError, "--global-batch " << global_batch << " does not split over " << comm.size() << " ranks");
      local_batch = global_batch / comm.size();
      config.batch = local_batch;
      auto lm = std::make_unique<mc::PtbLstm>(config, rng);
      for (int64_t i = 0; i < config.unroll * local_batch; ++i) {
        ids.push_back(static_cast<int32_t>(data_rng.below(static_cast<uint64_t>(config.vocab))));
        targets.push_back(static_cast<int32_t>(data_rng.below(static_cast<uint64_t>(config.vocab))));
      }
      mc::PtbLstm* net = lm.get();
      loss_fn = [net, &ids, &targets, &state] { return mc::fast_softmax_cross_entropy(net->forward(ids, state), targets); };
      include = {"lstm.layer*.weight", "softmax.weight"};
      model = std::move(lm);
    }
    mc::broadcast_model(comm, *model);
    std::unique_ptr<mc::CompressionController> compression;
    if (compress == "lowrank") {
      mc::CompressionSpec spec;
      spec.include = include;
      spec.compressor = mc::by_ratio("lowrank", ratio);
      spec.schedule = mc::BlendSchedule::immediate(0);
      compression = mc::apply_compression(*model, spec, 5);
      compression->on_event = nullptr;
    }
    mc::SGD opt(*model, 0.01f);
    mc::GradientReducer reducer(comm, *model, bucket_mib);
    std::vector<double> compute, wait, reduce, update;
    for (int step = 0; step < warmup + steps; ++step) {
      if (compression && compression->before_step(step)) mc::sync_after_compression(comm, *model);
      auto t0 = Clock::now();
      mc::Var loss = loss_fn();
      model->zero_grad();
      loss.backward();
      const double c = seconds_since(t0);
      // A barrier first, timed apart: otherwise the all-reduce time would include waiting for
      // the slowest rank to finish its backward (skew), not only moving and adding bytes.
      t0 = Clock::now();
      comm.barrier();
      const double w = seconds_since(t0);
      reducer.reduce(local_batch);
      t0 = Clock::now();
      opt.step();
      const double u = seconds_since(t0);
      if (step >= warmup) {
        compute.push_back(c);
        wait.push_back(w);
        reduce.push_back(reducer.last().seconds);
        update.push_back(u);
      }
    }
    int64_t params = 0;
    for (const auto& [name, p] : model->named_parameters()) params += p.numel();
    const double c = rank_mean(comm, median(compute)), r = rank_mean(comm, median(reduce)), u = rank_mean(comm, median(update));
    const double w = rank_mean(comm, median(wait));
    if (comm.is_root()) {
      nlohmann::json out = {{"model", model_name},
                            {"compress", compress},
                            {"ranks", comm.size()},
                            {"threads_per_rank", mc::num_threads()},
                            {"global_batch", global_batch},
                            {"parameters", params},
                            {"allreduce_bytes_per_step", reducer.last().bytes},
                            {"allreduce_messages_per_step", reducer.last().messages},
                            {"bucket_mib", bucket_mib},
                            {"forward_backward_ms", 1e3 * c},
                            {"wait_for_slowest_rank_ms", 1e3 * w},
                            {"allreduce_ms", 1e3 * r},
                            {"optimizer_ms", 1e3 * u},
                            {"allreduce_share_of_step", r / (c + w + r + u)},
                            {"examples_per_s", static_cast<double>(global_batch) / (c + w + r + u)}};
      if (compression) out["selected_ratio"] = compression->report_json()["selected_ratio"];
      std::printf("%s\n", out.dump().c_str());
    }
  } catch (const std::exception& e) {
    comm.abort(std::string("matcomp-dp-bench: ") + e.what());
  }
  return 0;
}
