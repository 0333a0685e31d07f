#include "experiments/lib/ptb_task.h"

#include <cmath>

#include "matcomp/autograd/ops.h"
#include "matcomp/autograd/variable.h"
#include "matcomp/core/error.h"
#include "experiments/lib/timing.h"
#include "matcomp/layers/checkpoint.h"
#include "matcomp/layers/lr_schedule.h"
#include "matcomp/layers/optimizer.h"
#include "matcomp/layers/softmax_loss.h"

namespace mc {

namespace {
// The LSTM state travels in checkpoints as extra tensors "lstm_h<l>", "lstm_c<l>".
const std::string kStatePrefix = "lstm_";
}  // namespace

PtbTask::PtbTask(const std::string& ptb_dir, PtbRecipe recipe) : recipe_(recipe), corpus_(data::load_ptb(ptb_dir)) {
  MC_CHECK(recipe_.learning_rate > 0 && recipe_.clip_norm > 0 && recipe_.decay_every > 0, ValueError,
           "ptb: learning rate, clip norm and decay interval must be positive");
  train_batcher_ = std::make_unique<data::LmBatcher>(corpus_.train, recipe_.model.batch, recipe_.model.unroll);
}

PtbTask::~PtbTask() = default;

void PtbTask::set_data_parallel(Communicator* comm) {
  parallel_ = DataParallel::for_batch(comm, recipe_.model.batch, "ptb");
}

std::vector<int32_t> PtbTask::my_streams(const std::vector<int32_t>& window) const {
  if (!parallel_) return window;
  const int64_t batch = recipe_.model.batch, steps = static_cast<int64_t>(window.size()) / batch;
  std::vector<int32_t> out;
  out.reserve(static_cast<size_t>(steps * streams_.size()));
  for (int64_t t = 0; t < steps; ++t)
    out.insert(out.end(), window.begin() + t * batch + streams_.begin, window.begin() + t * batch + streams_.end);
  return out;
}

void PtbTask::init(uint64_t seed) {
  rng_ = Rng(seed);
  // With data parallelism each rank's model runs on its own streams of the batch: the same
  // parameters, a smaller batch.
  streams_ = parallel_ ? parallel_->share(recipe_.model.batch) : BatchShare{0, recipe_.model.batch};
  PtbLstmConfig config = recipe_.model;
  config.batch = streams_.size();
  model_ = std::make_unique<PtbLstm>(config, rng_);
  if (parallel_) parallel_->attach(*model_);
  optimizer_ = std::make_unique<SGD>(*model_, recipe_.learning_rate);
  state_ = LstmState{};
}

double PtbTask::learning_rate(int64_t step) const {
  if (recipe_.decay_start <= 0) return recipe_.learning_rate;
  return StepDecay{recipe_.learning_rate, recipe_.decay_every, recipe_.decay_rate, recipe_.decay_start}(step);
}

float PtbTask::train_step(int64_t step, CompressionController* compression) {
  MC_CHECK(model_ != nullptr, Error, "ptb: init() was not called");
  const int64_t window = step % train_batcher_->num_windows();
  if (window == 0) state_ = LstmState{};  // a new epoch starts from zero state
  std::vector<int32_t> inputs, targets;
  train_batcher_->window(window, inputs, targets);
  inputs = my_streams(inputs), targets = my_streams(targets);

  optimizer_->set_learning_rate(static_cast<float>(learning_rate(step)));
  Var loss = fast_softmax_cross_entropy(model_->forward(inputs, state_), targets);
  // Every rank checks the same (global) value, so they all stop together on a divergence.
  const float value = parallel_ ? parallel_->global_mean(loss.value().item(), streams_.size()) : loss.value().item();
  MC_CHECK(std::isfinite(value), ValueError, "ptb: the training loss is " << value << " at step " << step
                                                 << " (diverged: lower the learning rate or check the compression settings)");
  model_->zero_grad();
  if (recipe_.sum_over_unroll)
    scale(loss, static_cast<float>(recipe_.model.unroll)).backward();
  else
    loss.backward();
  if (parallel_) parallel_->reduce_gradients(streams_.size());  // before the gradient-aware pruning scores see them
  if (compression) compression->after_backward(step);
  clip_grad_norm(*model_, recipe_.clip_norm);
  optimizer_->step();
  if (compression) compression->after_optimizer_step(step);
  return value;
}

double PtbTask::evaluate() {
  model_->train(false);
  NoGradGuard no_grad;
  const data::LmBatcher batcher(corpus_.test, recipe_.model.batch, recipe_.model.unroll);
  const int64_t windows = recipe_.eval_windows > 0 ? std::min(recipe_.eval_windows, batcher.num_windows()) : batcher.num_windows();
  LstmState state;
  double total = 0;
  std::vector<int32_t> inputs, targets;
  for (int64_t i = 0; i < windows; ++i) {
    batcher.window(i, inputs, targets);
    inputs = my_streams(inputs), targets = my_streams(targets);
    const float mean = fast_softmax_cross_entropy(model_->forward(inputs, state), targets).value().item();
    total += parallel_ ? parallel_->global_mean(mean, streams_.size()) : mean;
  }
  model_->train(true);
  return std::exp(total / static_cast<double>(windows));  // every window holds the same number of tokens
}

double PtbTask::infer_ms() {
  model_->train(false);
  NoGradGuard no_grad;
  const data::LmBatcher batcher(corpus_.test, recipe_.model.batch, recipe_.model.unroll);
  std::vector<int32_t> inputs, targets;
  batcher.window(0, inputs, targets);
  inputs = my_streams(inputs);  // data parallel: this rank's share of the batch
  const double ms = median_milliseconds(5, [&] {
    LstmState state;
    model_->forward(inputs, state);
  });
  model_->train(true);
  return ms;
}

void PtbTask::save(const std::string& path, int64_t step) {
  std::map<std::string, NpyArray> tensors;
  // The whole batch's state (every rank's streams), so any number of ranks can resume.
  const auto whole = [&](const Var& v) {
    return parallel_ ? parallel_->gather_rows(v.value(), recipe_.model.batch) : v.value();
  };
  for (size_t l = 0; l < state_.h.size(); ++l) {
    tensors[kStatePrefix + "h" + std::to_string(l)] = to_npy_array(whole(state_.h[l]));
    tensors[kStatePrefix + "c" + std::to_string(l)] = to_npy_array(whole(state_.c[l]));
  }
  save_task_checkpoint(parallel_.get(), path, *model_, optimizer_.get(), step, &rng_, nullptr, {}, tensors);
}

int64_t PtbTask::load(const std::string& path) {
  const Checkpoint checkpoint = read_checkpoint(path);
  apply_checkpoint(checkpoint, *model_, optimizer_.get(), &rng_, nullptr);
  state_ = LstmState{};
  for (int64_t l = 0;; ++l) {
    auto h = checkpoint.tensors.find("extra." + kStatePrefix + "h" + std::to_string(l));
    auto c = checkpoint.tensors.find("extra." + kStatePrefix + "c" + std::to_string(l));
    if (h == checkpoint.tensors.end() || c == checkpoint.tensors.end()) break;
    const Tensor full_h = from_npy_array(h->second, h->first), full_c = from_npy_array(c->second, c->first);
    MC_CHECK(full_h.dim() == 2 && full_h.size(0) == recipe_.model.batch && full_c.shape() == full_h.shape(), ShapeError,
             path << ": LSTM state " << to_string(full_h.shape()) << " does not fit a batch of " << recipe_.model.batch);
    state_.h.push_back(Var(full_h.rows(streams_.begin, streams_.end).clone()));
    state_.c.push_back(Var(full_c.rows(streams_.begin, streams_.end).clone()));
  }
  return checkpoint.step();
}

}  // namespace mc
