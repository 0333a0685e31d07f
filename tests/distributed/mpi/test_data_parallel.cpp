// Data parallelism on 2 (or more) ranks against the same training on one process.
//
// Every rank also runs the single-process reference in-process (the whole global batch, no
// communication), so each step compares the distributed loss with the 1-rank loss directly.
// Tests avoid ASSERT between collectives: a rank that left a test early would leave the
// others waiting in the next collective.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "../dp_test_model.h"
#include "matcomp/distributed/checkpoint.h"
#include "matcomp/distributed/model_sync.h"
#include "matcomp/formats/checkpoint.h"
#include "world.h"

using mc_test::g_world;

namespace {

float global_mean(mc::Communicator& comm, float local_mean, int64_t local_n) {
  float v[2] = {local_mean * static_cast<float>(local_n), static_cast<float>(local_n)};
  comm.allreduce_sum(v, 2);
  return v[0] / v[1];
}

double rel_diff(double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-12); }

bool all_same(const std::vector<uint64_t>& v) {
  for (uint64_t x : v)
    if (x != v[0]) return false;
  return true;
}

// A path chosen on rank 0 and broadcast, so every rank names the same file.
std::string shared_path(mc::Communicator& comm, const std::string& leaf) {
  std::string dir;
  if (comm.is_root()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "matcomp_distributed_XXXXXX").string();
    char* made = ::mkdtemp(tmpl.data());
    dir = made ? std::string(made) : std::string();
  }
  int64_t length = static_cast<int64_t>(dir.size());
  comm.broadcast(&length, sizeof length, 0);
  dir.resize(static_cast<size_t>(length));
  comm.broadcast(dir.data(), length, 0);
  return dir.empty() ? std::string() : dir + "/" + leaf;
}

}  // namespace

TEST(DataParallel, WorldIsMpiWithSeveralRanks) {
  EXPECT_EQ(g_world->backend(), "mpi");
  EXPECT_GE(g_world->size(), 2) << "run this binary under mpiexec -np 2 (CTest does)";
  const std::vector<uint64_t> ranks = mc::all_gather(*g_world, static_cast<uint64_t>(g_world->rank()));
  for (int r = 0; r < g_world->size(); ++r) EXPECT_EQ(ranks[static_cast<size_t>(r)], static_cast<uint64_t>(r));
}

TEST(DataParallel, ReducerAveragesByExampleCountAcrossBuckets) {
  mc::Communicator& comm = *g_world;
  const int rank = comm.rank(), size = comm.size();
  mc_test::Mlp model(1);
  // Rank r holds gradient (r + 1) * (i + 1) in entry i, for r + 1 examples; out.bias gets a
  // gradient on the last rank only, fc1.bias on none.
  auto fill = [&](mc_test::Mlp& m) {
    for (auto& [name, p] : m.named_parameters()) {
      p.zero_grad();
      if (name == "fc1.bias") continue;
      if (name == "out.bias" && rank != size - 1) continue;
      mc::Tensor g = mc::Tensor::empty(p.shape());
      for (int64_t i = 0; i < g.numel(); ++i) g.data()[i] = static_cast<float>((rank + 1) * (i % 97 + 1));
      p.mutable_grad() = g;
    }
  };
  // Expected: sum_r (r+1) * (r+1) * v / sum_r (r+1); out.bias: size * size * v / sum_r (r+1).
  double sq = 0, count = 0;
  for (int r = 1; r <= size; ++r) sq += r * r, count += r;
  // Buckets of 40 floats split every parameter and the header across messages; one of 64
  // MiB holds everything.
  for (double mib : {40.0 * 4 / (1024 * 1024), 64.0}) {
    fill(model);
    mc::GradientReducer reducer(comm, model, mib);
    reducer.reduce(rank + 1);
    for (auto& [name, p] : model.named_parameters()) {
      if (name == "fc1.bias") {
        EXPECT_FALSE(p.grad().defined()) << "no rank had a gradient for " << name;
        continue;
      }
      ASSERT_TRUE(p.grad().defined()) << name;
      const double factor = name == "out.bias" ? static_cast<double>(size) * size / count : sq / count;
      for (int64_t i = 0; i < p.numel(); ++i)
        EXPECT_NEAR(p.grad().data()[i], factor * (i % 97 + 1), 1e-5 * factor * (i % 97 + 1)) << name << "[" << i << "]";
    }
    int64_t floats = 0;
    for (auto& [name, p] : model.named_parameters()) floats += p.numel();
    const int64_t header = static_cast<int64_t>(model.named_parameters().size()) + 1;
    EXPECT_EQ(reducer.last().bytes, 4 * (floats + header));
    EXPECT_EQ(reducer.last().messages, mib > 1 ? 1 : (floats + header + 39) / 40);
  }
}

TEST(DataParallel, MatchesSingleProcessStepByStepAcrossCompression) {
  mc::Communicator& comm = *g_world;
  const mc_test::Task task = mc_test::make_task(256, 3);
  mc_test::Trainer reference(7);  // one process, the whole global batch
  // Rank r starts from its own random initialisation; broadcast_model must replace it.
  mc_test::Trainer dist(7 + 1000 * static_cast<uint64_t>(comm.rank()));
  EXPECT_FALSE(all_same(mc::all_gather(comm, mc::model_hash(dist.model))));
  mc::broadcast_model(comm, dist.model);
  EXPECT_TRUE(all_same(mc::all_gather(comm, mc::model_hash(dist.model))));
  EXPECT_EQ(mc::model_hash(dist.model), mc::model_hash(reference.model)) << "rank 0's initialisation is seed 7";

  mc::GradientReducer reducer(comm, dist.model, 200.0 * 4 / (1024 * 1024));  // several buckets per step
  const auto [begin, end] = mc_test::shard(comm.rank(), comm.size());
  double worst = 0, shard_vs_global = 0;
  int events = 0;
  for (int64_t step = 0; step < 50; ++step) {
    const bool ref_event = reference.compression->before_step(step);
    const float ref_loss = reference.forward_backward(task, step, 0, mc_test::kGlobalBatch);
    reference.update(step);

    const bool event = dist.compression->before_step(step);
    EXPECT_EQ(event, ref_event) << "step " << step;
    if (event) {
      ++events;
      mc::sync_after_compression(comm, dist.model);
      const std::vector<uint64_t> hashes = mc::all_gather(comm, mc::model_hash(dist.model));
      EXPECT_TRUE(all_same(hashes)) << "parameters, buffers or compression state differ across ranks after the event at step " << step;
    }
    const float local = dist.forward_backward(task, step, begin, end);
    reducer.reduce(end - begin);
    dist.update(step);
    const float loss = global_mean(comm, local, end - begin);
    worst = std::max(worst, rel_diff(loss, ref_loss));
    shard_vs_global = std::max(shard_vs_global, rel_diff(local, ref_loss));
    EXPECT_LE(rel_diff(loss, ref_loss), 1e-5) << "step " << step << ": data-parallel " << loss << " vs one process " << ref_loss;
  }
  EXPECT_EQ(events, 2) << "the schedule factors at step 20 and switches at 25";
  EXPECT_TRUE(dist.model.has_parameter("fc1.weight.B")) << "lowrank factors in the registry";
  EXPECT_FALSE(dist.model.has_parameter("fc1.weight.A"));
  // The shards really differ from the global batch (else the test could not tell a missing
  // reduction from a working one).
  EXPECT_GT(shard_vs_global, 1e-3);
  EXPECT_TRUE(all_same(mc::all_gather(comm, mc::model_hash(dist.model))));
  if (comm.is_root()) std::printf("largest relative loss difference over 50 steps: %.3g\n", worst);
}

TEST(DataParallel, CheckpointFromRankZeroResumesOnOneProcess) {
  mc::Communicator& comm = *g_world;
  const mc_test::Task task = mc_test::make_task(256, 3);
  mc_test::Trainer dist(7);
  mc::GradientReducer reducer(comm, dist.model);
  const auto [begin, end] = mc_test::shard(comm.rank(), comm.size());
  const int64_t save_at = 30;
  std::vector<float> losses;
  const std::string path = shared_path(comm, "step30.safetensors");
  EXPECT_FALSE(path.empty());
  for (int64_t step = 0; step < save_at + 2; ++step) {
    if (step == save_at)
      mc::save_checkpoint_on_root(comm, path, dist.model, &dist.opt, step, nullptr, nullptr, {}, {});
    if (dist.compression->before_step(step)) mc::sync_after_compression(comm, dist.model);
    const float local = dist.forward_backward(task, step, begin, end);
    reducer.reduce(end - begin);
    dist.update(step);
    losses.push_back(global_mean(comm, local, end - begin));
  }
  // Every rank sees the finished file as soon as the collective returns.
  EXPECT_TRUE(std::filesystem::exists(path)) << "rank " << comm.rank();
  comm.barrier();  // nobody removes the folder while another rank still checks it
  if (comm.is_root()) {
    // Resume with one process: another initialisation, rebuilt to the saved structure.
    mc_test::Trainer resumed(12345);
    const mc::Checkpoint ck = mc::read_checkpoint(path);
    EXPECT_EQ(ck.step(), save_at);
    mc::apply_checkpoint(ck, resumed.model, &resumed.opt, nullptr, nullptr);
    for (int64_t step = save_at; step < save_at + 2; ++step) {
      resumed.compression->before_step(step);
      const float loss = resumed.forward_backward(task, step, 0, mc_test::kGlobalBatch);
      resumed.update(step);
      EXPECT_LE(rel_diff(loss, losses[static_cast<size_t>(step)]), 1e-5)
          << "step " << step << ": resumed " << loss << " vs data-parallel " << losses[static_cast<size_t>(step)];
    }
    std::filesystem::remove_all(std::filesystem::path(path).parent_path());
  }
}

TEST(DataParallel, CheckpointFailureOnRankZeroIsReportedOnEveryRank) {
  mc::Communicator& comm = *g_world;
  mc_test::Mlp model(1);
  const std::string path = "/proc/matcomp-cannot-write-here.safetensors";
  try {
    mc::save_checkpoint_on_root(comm, path, model, nullptr, 0, nullptr, nullptr);
    ADD_FAILURE() << "no error on rank " << comm.rank();
  } catch (const mc::Error& e) {
    if (!comm.is_root()) {
      EXPECT_NE(std::string(e.what()).find("rank 0 failed"), std::string::npos) << e.what();
    }
  }
}

TEST(DataParallel, DifferentStructureIsAnErrorOnEveryRankNotAHang) {
  mc::Communicator& comm = *g_world;
  mc_test::Mlp model(1);
  if (comm.rank() == comm.size() - 1) model.remove_parameter("out.bias");
  mc::GradientReducer reducer(comm, model);
  try {
    reducer.reduce(1);
    ADD_FAILURE() << "no error on rank " << comm.rank();
  } catch (const mc::CommunicationError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("model structure"), std::string::npos) << what;
    EXPECT_NE(what.find("rank(s) " + std::to_string(comm.size() - 1)), std::string::npos) << what;
  }
}
