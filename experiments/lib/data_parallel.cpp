#include "experiments/lib/data_parallel.h"

#include <algorithm>

#include "matcomp/core/error.h"
#include "matcomp/distributed/checkpoint.h"
#include "matcomp/distributed/model_sync.h"
#include "matcomp/formats/checkpoint.h"

namespace mc {

BatchShare share_of(int64_t count, int rank, int ranks) {
  MC_CHECK(ranks >= 1 && rank >= 0 && rank < ranks, ValueError, "rank " << rank << " of " << ranks);
  MC_CHECK(count >= 0, ValueError, "share_of: negative count " << count);
  const int64_t base = count / ranks, extra = count % ranks;
  const int64_t begin = rank * base + std::min<int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

std::unique_ptr<DataParallel> DataParallel::for_batch(Communicator* comm, int64_t batch, const std::string& who) {
  if (comm == nullptr || comm->size() <= 1) return nullptr;
  MC_CHECK(batch >= comm->size(), ValueError,
           who << ": a batch of " << batch << " cannot be shared by " << comm->size() << " ranks");
  return std::make_unique<DataParallel>(*comm);
}

void DataParallel::attach(Module& model) {
  broadcast_model(comm_, model);
  reducer_ = std::make_unique<GradientReducer>(comm_, model);
}

void DataParallel::reduce_gradients(int64_t local_examples) {
  MC_CHECK(reducer_ != nullptr, Error, "DataParallel: attach() a model before reducing its gradients");
  reducer_->reduce(local_examples);
}

float DataParallel::global_mean(float local_mean, int64_t local_examples) {
  float sums[2] = {local_mean * static_cast<float>(local_examples), static_cast<float>(local_examples)};
  comm_.allreduce_sum(sums, 2);
  return sums[0] / sums[1];
}

Tensor DataParallel::gather_rows(const Tensor& local, int64_t count) {
  const BatchShare mine = share(count);
  MC_CHECK(local.dim() >= 1 && local.size(0) == mine.size(), ShapeError,
           "gather_rows: rank " << comm_.rank() << " holds " << to_string(local.shape()) << ", expected " << mine.size()
                                << " rows of " << count);
  Shape shape = local.shape();
  shape[0] = count;
  Tensor full = Tensor::zeros(shape);
  const int64_t row = local.numel() / std::max<int64_t>(local.size(0), 1);
  std::copy(local.data(), local.data() + local.numel(), full.data() + mine.begin * row);
  comm_.allreduce_sum(full.data(), full.numel());  // every other rank contributed zeros here
  return full;
}

void save_task_checkpoint(DataParallel* parallel, const std::string& path, const Module& model, const Optimizer* optimizer,
                          int64_t step, const Rng* rng, const ExponentialMovingAverage* ema, const nlohmann::json& extra,
                          const std::map<std::string, NpyArray>& extra_tensors) {
  if (parallel)
    save_checkpoint_on_root(parallel->comm(), path, model, optimizer, step, rng, ema, extra, extra_tensors);
  else
    save_checkpoint(path, model, optimizer, step, rng, ema, extra, extra_tensors);
}

}  // namespace mc
