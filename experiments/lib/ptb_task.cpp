#include "experiments/lib/ptb_task.h"

#include <cmath>
#include <filesystem>
#include <utility>

#include "matcomp/autograd/ops.h"
#include "matcomp/autograd/variable.h"
#include "matcomp/core/error.h"
#include "experiments/lib/sweep_fingerprint.h"
#include "experiments/lib/timing.h"
#include "matcomp/formats/checkpoint.h"
#include "matcomp/layers/optim/lr_schedule.h"
#include "matcomp/layers/optim/optimizer.h"
#include "matcomp/layers/kernels/softmax_loss.h"

namespace mc {

namespace {
// The LSTM state travels in checkpoints as extra tensors "lstm_h<l>", "lstm_c<l>".
const std::string kStatePrefix = "lstm_";
}  // namespace

PtbTask::PtbTask(const std::string& ptb_dir, PtbRecipe recipe)
    : dir_(ptb_dir), recipe_(recipe), corpus_(data::load_ptb(ptb_dir)) {
  MC_CHECK(recipe_.learning_rate > 0 && recipe_.clip_norm > 0 && recipe_.decay_every > 0, ValueError,
           "ptb: learning rate, clip norm and decay interval must be positive");
  check_data();  // the training batcher below needs a window
  train_batcher_ = std::make_unique<data::LmBatcher>(corpus_.train, recipe_.model.batch, recipe_.model.unroll);
}

PtbTask::~PtbTask() = default;

nlohmann::json PtbTask::recipe_json() const {
  const PtbLstmConfig& m = recipe_.model;
  return {{"model", {{"vocab", m.vocab}, {"hidden", m.hidden}, {"layers", m.layers}, {"unroll", m.unroll}, {"batch", m.batch},
                     {"dropout", m.dropout}, {"init_scale", m.init_scale}}},
          {"learning_rate", recipe_.learning_rate}, {"decay_start", recipe_.decay_start},
          {"decay_every", recipe_.decay_every},     {"decay_rate", recipe_.decay_rate},
          {"clip_norm", recipe_.clip_norm},         {"sum_over_unroll", recipe_.sum_over_unroll},
          {"eval_windows", recipe_.eval_windows}};
}

std::vector<std::string> PtbTask::data_files() const {
  return list_data_files(dir_, {"ptb.train.txt", "ptb.valid.txt", "ptb.test.txt"});
}

void PtbTask::check_data() const {
  // The file the loader read for a split: plain first, as load_ptb looks.
  const auto file_of = [&](const std::string& name) {
    const std::string plain = dir_ + "/" + name;
    return std::filesystem::is_regular_file(plain) ? plain : plain + ".gz";
  };
  const int64_t batch = recipe_.model.batch, unroll = recipe_.model.unroll, needed = batch * (unroll + 1);
  const std::pair<const char*, const std::vector<int32_t>*> splits[] = {
      {"ptb.train.txt", &corpus_.train}, {"ptb.valid.txt", &corpus_.valid}, {"ptb.test.txt", &corpus_.test}};
  for (const auto& [name, tokens] : splits)
    MC_CHECK(static_cast<int64_t>(tokens->size()) >= needed, ValueError,
             file_of(name) << " holds " << tokens->size() << " tokens, fewer than the " << needed
                           << " one window needs (batch " << batch << " x (unroll " << unroll
                           << " + 1)): it yields no " << (tokens == &corpus_.train ? "training batch" : "evaluation window"));
}

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

double PtbTask::evaluate() { return perplexity_on(corpus_.test, recipe_.eval_windows); }

double PtbTask::evaluate_progress() { return perplexity_on(corpus_.valid, recipe_.valid_windows); }

double PtbTask::perplexity_on(const std::vector<int32_t>& tokens, int64_t limit) {
  // Evaluation mode: no dropout mask is drawn, so the training RNG is untouched; the
  // training LSTM state (state_) is not used either.
  model_->train(false);
  NoGradGuard no_grad;
  const data::LmBatcher batcher(tokens, recipe_.model.batch, recipe_.model.unroll);
  const int64_t windows = limit > 0 ? std::min(limit, batcher.num_windows()) : batcher.num_windows();
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

void PtbTask::save(const std::string& path, int64_t step, const nlohmann::json& extra) {
  std::map<std::string, NpyArray> tensors;
  // The whole batch's state (every rank's streams), so any number of ranks can resume.
  const auto whole = [&](const Var& v) {
    return parallel_ ? parallel_->gather_rows(v.value(), recipe_.model.batch) : v.value();
  };
  for (size_t l = 0; l < state_.h.size(); ++l) {
    tensors[kStatePrefix + "h" + std::to_string(l)] = to_npy_array(whole(state_.h[l]));
    tensors[kStatePrefix + "c" + std::to_string(l)] = to_npy_array(whole(state_.c[l]));
  }
  save_task_checkpoint(parallel_.get(), path, *model_, optimizer_.get(), step, &rng_, nullptr, extra, tensors);
}

int64_t PtbTask::load(const std::string& path, const ExtraCheck& check_extra) {
  const Checkpoint checkpoint = read_checkpoint(path);
  if (check_extra) check_extra(checkpoint.metadata.value("extra", nlohmann::json::object()));
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
