// The CIFAR-10 task of the comparison: the reference CNN (layers/models/cifar10_cnn.h) trained with
// the TF tutorial's recipe (SGD, lr 0.1 with staircase decay, weight decay on local3/local4,
// batch 128 of augmented 24x24 crops) or a faster one (momentum, warm-up and cosine decay,
// weight decay on every kernel), evaluated by test accuracy on centre crops, with the weights'
// moving average where the recipe uses one.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "matcomp/core/rng.h"
#include "matcomp/datasets/cifar10.h"
#include "matcomp/datasets/cifar10_loader.h"
#include "experiments/lib/data_parallel.h"
#include "experiments/lib/task.h"
#include "matcomp/layers/models/cifar10_cnn.h"
#include "matcomp/layers/optim/ema.h"
#include "matcomp/layers/optim/sgd.h"

namespace mc {

enum class Cifar10Schedule {
  Staircase,  // the tutorial's: lr *= decay_rate every decay_steps
  Cosine,     // linear warm-up over warmup_steps, then a half cosine to 0 at cosine_steps
};

// The defaults are the reference's recipe; the `fast` preset changes them (docs/EXPERIMENTS.md,
// "A faster recipe", says what was tried).
struct Cifar10Recipe {
  int64_t batch = 128;
  float learning_rate = 0.1f;
  Cifar10Schedule schedule = Cifar10Schedule::Staircase;
  int64_t decay_steps = 0;   // Staircase: lr *= decay_rate every decay_steps (0: never)
  float decay_rate = 0.1f;
  int64_t warmup_steps = 0;  // Cosine
  int64_t cosine_steps = 0;  // Cosine: the step where the rate reaches 0 (the preset's total)
  float momentum = 0;        // SGD momentum (0: plain SGD, as the reference)
  bool nesterov = false;
  float weight_decay = 0.004f;      // L2 on the local3 and local4 kernels (the reference's)
  float other_weight_decay = 0.0f;  // L2 on the conv and softmax kernels (none in the reference)
  float ema_decay = 0.9999f;  // 0: evaluate the raw weights
  int64_t eval_images = 0;    // 0: the whole test set
  // Images of the test set (its first ones, a fixed choice) evaluated during training.
  int64_t progress_images = 1000;
};

// Sets recipe fields from "key=value,key=value" (keys: lr, schedule (staircase|cosine),
// decay_steps, decay_rate, warmup, momentum, nesterov (0|1), wd, other_wd, ema); an unknown key
// or a bad value is a ValueError naming it.
void apply_recipe_overrides(Cifar10Recipe& recipe, const std::string& overrides);

// The recipe as the sweep's fingerprint records it; the reference's recipe gives the same
// JSON as before the fast recipe's fields existed.
nlohmann::json recipe_json(const Cifar10Recipe& recipe);

// The learning rate of the step under the recipe's schedule.
double cifar10_learning_rate(const Cifar10Recipe& recipe, int64_t step);

class Cifar10Task final : public ExperimentTask {
 public:
  Cifar10Task(const std::string& cifar_dir, Cifar10Recipe recipe);
  ~Cifar10Task() override;

  std::string name() const override { return "cifar10"; }
  std::string metric() const override { return "accuracy"; }
  bool higher_is_better() const override { return true; }
  std::vector<std::string> default_layers() const override { return {"local3.weight", "local4.weight"}; }
  nlohmann::json recipe_json() const override;
  std::vector<std::string> data_files() const override;
  void check_data() const override;

  void set_data_parallel(Communicator* comm) override;
  void init(uint64_t seed) override;
  Module& model() override { return *model_; }
  float train_step(int64_t step, CompressionController* compression) override;
  double learning_rate(int64_t step) const override;
  double evaluate() override;
  void with_evaluation_weights(const std::function<void()>& use) override;
  std::string progress_metric() const override;
  double evaluate_progress() override;
  double infer_ms() override;
  void save(const std::string& path, int64_t step, const nlohmann::json& extra = {}) override;
  int64_t load(const std::string& path, const ExtraCheck& check_extra = {}) override;

 private:
  std::string dir_;
  Cifar10Recipe recipe_;
  data::Cifar10Split train_, test_;
  uint64_t seed_ = 0;
  Rng rng_{0};
  std::unique_ptr<Cifar10Cnn> model_;
  std::unique_ptr<SGD> optimizer_;
  std::unique_ptr<ExponentialMovingAverage> ema_;
  std::unique_ptr<data::Cifar10Loader> loader_;
  int64_t loader_next_ = 0;  // the step whose batch the loader gives next
  std::unique_ptr<DataParallel> parallel_;

  int64_t progress_images() const;
  // Accuracy on the first `count` test images (0: all), with the EMA weights if any.
  double accuracy_on_test(int64_t limit);
  double accuracy_of_current_weights(int64_t limit);  // accuracy_on_test without choosing the weights
};

}  // namespace mc
