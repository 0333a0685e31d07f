// ExperimentTask: one model + dataset + training recipe (CIFAR-10 CNN, PTB LSTM), seen by the
// sweep runner through a few calls. The runner owns the schedule, the branches, logs,
// checkpoints and results; the task owns the model, the optimizer and the data.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "matcomp/compression/apply_compression.h"
#include "matcomp/core/npy.h"
#include "matcomp/distributed/communicator.h"
#include "matcomp/layers/modules/module.h"

namespace mc {

class ExperimentTask {
 public:
  virtual ~ExperimentTask() = default;

  virtual std::string name() const = 0;         // "cifar10", "ptb"
  virtual std::string metric() const = 0;       // "accuracy" or "perplexity"
  virtual bool higher_is_better() const = 0;
  virtual std::vector<std::string> default_layers() const = 0;  // weight seams compressed by default

  // What the sweep's fingerprint records of the task: the recipe (model size, batch, learning
  // rate schedule, evaluation size...) and the data files it reads (paths; checksummed by the
  // sweep).
  virtual nlohmann::json recipe_json() const = 0;
  virtual std::vector<std::string> data_files() const = 0;
  // Before the first step: ValueError naming the file when a split the run needs yields no
  // training batch or no evaluation window for this recipe (found now, not after training).
  virtual void check_data() const = 0;

  // Data parallelism (null: this process alone). Call before init(): the task then trains on
  // this rank's share of every global batch, averages the gradients over the ranks before
  // each update, returns the global batch's loss from train_step, and save() becomes
  // collective (rank 0 writes; an error there is reported on every rank).
  virtual void set_data_parallel(Communicator* comm) = 0;

  // Fresh model, optimizer, data order and RNG, all from the seed.
  virtual void init(uint64_t seed) = 0;
  virtual Module& model() = 0;

  // One optimizer step at `step` (0-based). `compression` (may be null) gets its
  // after_backward / after_optimizer_step calls at the right moments. Returns the loss;
  // throws ValueError if the loss is not finite.
  virtual float train_step(int64_t step, CompressionController* compression) = 0;
  virtual double learning_rate(int64_t step) const = 0;

  // The test metric (with the weight moving average where the recipe uses one).
  virtual double evaluate() = 0;
  // Runs `use` while the model holds the weights evaluate() measures (the moving average where
  // the recipe keeps one), then puts the training weights back, also when `use` throws. The
  // sweep exports inside it, so the shipped model file scores what result.json reports.
  virtual void with_evaluation_weights(const std::function<void()>& use) { use(); }
  // The metric followed during training (the sweep's --eval-every): cheaper than evaluate()
  // or on held-out data, with the same weights evaluate() uses; it must leave training exactly
  // as it was (no RNG draw, no data position, train mode restored). Its name in the logs:
  // "test_accuracy_first_1000" (CIFAR-10), "valid_perplexity" (PTB).
  virtual std::string progress_metric() const = 0;
  virtual double evaluate_progress() = 0;
  // Milliseconds for one inference batch (the recipe's batch), median of a few.
  virtual double infer_ms() = 0;

  // Everything needed to continue training exactly: model, optimizer, RNG, data position.
  // The model's registry carries any compression (compressed_weight.h), so nothing else is needed.
  // `extra` is the caller's own metadata (the sweep's fingerprint), kept in the file.
  virtual void save(const std::string& path, int64_t step, const nlohmann::json& extra = {}) = 0;
  // Reads a checkpoint: the model's structure is rebuilt to the saved one (a compressed layer
  // comes back compressed), then the values are loaded. `check_extra`, when given, sees the
  // saved `extra` first and throws to refuse the file before anything is loaded. Returns the step.
  using ExtraCheck = std::function<void(const nlohmann::json& extra)>;
  virtual int64_t load(const std::string& path, const ExtraCheck& check_extra = {}) = 0;
};

}  // namespace mc
