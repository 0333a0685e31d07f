// The single-process side of distributed/: runs without mpiexec, in any build (with or
// without MPI). Code written against the Communicator must train here exactly as before.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "dp_test_model.h"
#include "matcomp/distributed/checkpoint.h"
#include "matcomp/distributed/model_sync.h"
#include "matcomp/distributed/session.h"
#include "matcomp/formats/checkpoint.h"

TEST(SingleProcess, CommunicatorIsAWorldOfOne) {
  mc::SingleProcessCommunicator comm;
  EXPECT_EQ(comm.rank(), 0);
  EXPECT_EQ(comm.size(), 1);
  EXPECT_TRUE(comm.is_root());
  std::vector<float> v = {1.5f, -2.0f, 3.25f};
  comm.allreduce_sum(v.data(), 3);
  EXPECT_EQ(v, (std::vector<float>{1.5f, -2.0f, 3.25f}));
  comm.broadcast(v.data(), 3, 0);
  EXPECT_EQ(v, (std::vector<float>{1.5f, -2.0f, 3.25f}));
  comm.barrier();
  EXPECT_THROW(comm.broadcast(v.data(), 3, 1), mc::ValueError);
  EXPECT_THROW(comm.allreduce_sum(v.data(), -1), mc::ValueError);
  EXPECT_EQ(mc::all_gather(comm, 42), (std::vector<uint64_t>{42}));
}

TEST(SingleProcess, SessionWithoutLauncherIsSingle) {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"}) ::unsetenv(var);
  EXPECT_FALSE(mc::DistributedSession::launched_by_mpi());
  mc::DistributedSession session;  // Auto
  EXPECT_EQ(session.world().backend(), "single");
  EXPECT_EQ(session.world().size(), 1);
#ifndef MATCOMP_MPI
  EXPECT_FALSE(mc::DistributedSession::mpi_compiled());
  EXPECT_THROW(mc::DistributedSession(mc::DistributedBackend::Mpi), mc::ValueError);
#endif
}

TEST(SingleProcess, AbortEndsTheProcessWithTheMessage) {
  EXPECT_EXIT(mc::SingleProcessCommunicator().abort("loss is NaN at step 7", 5), ::testing::ExitedWithCode(5),
              "rank 0/1: loss is NaN at step 7");
}

TEST(SingleProcess, TrainingThroughTheApiEqualsPlainTraining) {
  // The data-parallel loop with a world of one is the plain loop, bit for bit.
  mc::SingleProcessCommunicator comm;
  const mc_test::Task task = mc_test::make_task(256, 3);
  mc_test::Trainer plain(7), dp(7);
  mc::broadcast_model(comm, dp.model);
  mc::GradientReducer reducer(comm, dp.model);
  for (int64_t step = 0; step < 30; ++step) {
    plain.compression->before_step(step);
    const float a = plain.forward_backward(task, step, 0, mc_test::kGlobalBatch);
    plain.update(step);
    if (dp.compression->before_step(step)) mc::sync_after_compression(comm, dp.model);
    const float b = dp.forward_backward(task, step, 0, mc_test::kGlobalBatch);
    reducer.reduce(mc_test::kGlobalBatch);
    dp.update(step);
    ASSERT_EQ(a, b) << "step " << step;
  }
  EXPECT_EQ(mc::model_hash(plain.model), mc::model_hash(dp.model));
  EXPECT_EQ(reducer.total().messages, 0) << "a world of one sends nothing";
}

TEST(SingleProcess, HashSeesEveryBitAndTheStructure) {
  mc_test::Mlp a(5), b(5), c(6);
  EXPECT_EQ(mc::model_hash(a), mc::model_hash(b));
  EXPECT_NE(mc::model_hash(a), mc::model_hash(c));
  EXPECT_EQ(mc::structure_hash(a), mc::structure_hash(c));
  // One ulp in one entry of the last parameter.
  float& last = b.parameter("out.bias").value().data()[3];
  last = std::nextafter(last, 1.0f);
  EXPECT_NE(mc::model_hash(a), mc::model_hash(b));
  // The compression state counts: same values, different structure or phase.
  mc_test::Trainer t1(5), t2(5);
  EXPECT_EQ(mc::model_hash(t1.model), mc::model_hash(t2.model));
  t2.compression->before_step(20);  // factors fc1 and fc2
  EXPECT_NE(mc::structure_hash(t1.model), mc::structure_hash(t2.model));
  b.remove_parameter("out.bias");
  EXPECT_NE(mc::structure_hash(a), mc::structure_hash(b));
}

TEST(SingleProcess, ReducerRejectsBadArguments) {
  mc::SingleProcessCommunicator comm;
  mc_test::Mlp model(1);
  EXPECT_THROW(mc::GradientReducer(comm, model, 0.0), mc::ValueError);
  mc::GradientReducer reducer(comm, model);
  EXPECT_THROW(reducer.reduce(-1), mc::ValueError);
}

TEST(SingleProcess, CheckpointOnRootWritesAndReportsErrors) {
  mc::SingleProcessCommunicator comm;
  mc_test::Mlp model(1);
  const auto dir = std::filesystem::temp_directory_path() / ("matcomp_distributed_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "ck.safetensors").string();
  mc::save_checkpoint_on_root(comm, path, model, nullptr, 4, nullptr, nullptr);
  EXPECT_EQ(mc::read_checkpoint(path).step(), 4);
  EXPECT_THROW(mc::save_checkpoint_on_root(comm, "/proc/matcomp-cannot-write-here.safetensors", model, nullptr, 0, nullptr, nullptr),
               mc::Error);
  std::filesystem::remove_all(dir);
}
