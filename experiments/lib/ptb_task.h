// The PTB task of the comparison: the reference LSTM language model (layers/models/ptb_lstm.h,
// small or medium) trained with Zaremba et al.'s recipe (SGD, lr 1 halved per epoch after a
// few epochs, gradient norm clipped at 5, state carried across truncated-BPTT windows),
// evaluated by test perplexity.
#pragma once

#include <memory>
#include <string>

#include "matcomp/core/rng.h"
#include "matcomp/datasets/lm_batcher.h"
#include "matcomp/datasets/ptb.h"
#include "experiments/lib/data_parallel.h"
#include "experiments/lib/task.h"
#include "matcomp/layers/modules/lstm.h"
#include "matcomp/layers/models/ptb_lstm.h"
#include "matcomp/layers/optim/sgd.h"

namespace mc {

struct PtbRecipe {
  PtbLstmConfig model = PtbLstmConfig::small();
  float learning_rate = 1.0f;
  int64_t decay_start = 0;  // steps at the full learning rate (0: never decay)
  int64_t decay_every = 1;  // then lr *= decay_rate every decay_every steps
  float decay_rate = 0.5f;
  float clip_norm = 5.0f;
  // The TensorFlow recipe's cost sums the cross-entropy over the unrolled steps and averages
  // over the batch: its gradient is `unroll` times the per-token mean's, and the clip norm
  // and learning rate are tuned for that. false: train on the per-token mean.
  bool sum_over_unroll = true;
  int64_t eval_windows = 0;  // 0: the whole test set
  int64_t valid_windows = 0;  // evaluated during training, from the start of the validation set (0: all of it)
};

class PtbTask final : public ExperimentTask {
 public:
  PtbTask(const std::string& ptb_dir, PtbRecipe recipe);
  ~PtbTask() override;

  std::string name() const override { return "ptb"; }
  std::string metric() const override { return "perplexity"; }
  bool higher_is_better() const override { return false; }
  // The LSTM kernels and the softmax weight: the matrices the reference compressed.
  std::vector<std::string> default_layers() const override { return {"lstm.layer*.weight", "softmax.weight"}; }
  nlohmann::json recipe_json() const override;
  std::vector<std::string> data_files() const override;
  void check_data() const override;

  void set_data_parallel(Communicator* comm) override;
  void init(uint64_t seed) override;
  Module& model() override { return *model_; }
  float train_step(int64_t step, CompressionController* compression) override;
  double learning_rate(int64_t step) const override;
  double evaluate() override;
  std::string progress_metric() const override { return "valid_perplexity"; }
  double evaluate_progress() override;
  double infer_ms() override;
  void save(const std::string& path, int64_t step, const nlohmann::json& extra = {}) override;
  int64_t load(const std::string& path, const ExtraCheck& check_extra = {}) override;

  int64_t steps_per_epoch() const { return train_batcher_->num_windows(); }

 private:
  std::string dir_;
  PtbRecipe recipe_;
  data::PtbCorpus corpus_;
  std::unique_ptr<data::LmBatcher> train_batcher_;
  Rng rng_{0};
  std::unique_ptr<PtbLstm> model_;
  std::unique_ptr<SGD> optimizer_;
  LstmState state_;  // carried from window to window within an epoch (this rank's streams)
  std::unique_ptr<DataParallel> parallel_;
  BatchShare streams_;  // the batch's streams this rank trains on (all of them when alone)

  // Perplexity on the first `windows` windows of `tokens` (0: all), from zero state.
  double perplexity_on(const std::vector<int32_t>& tokens, int64_t windows);
  // This rank's streams of a time-major (T, batch) window.
  std::vector<int32_t> my_streams(const std::vector<int32_t>& window) const;
};

}  // namespace mc
