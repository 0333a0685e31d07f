#include "experiments/lib/cifar10_task.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "matcomp/autograd/ops.h"
#include "matcomp/autograd/variable.h"
#include "matcomp/core/error.h"
#include "experiments/lib/sweep_fingerprint.h"
#include "experiments/lib/timing.h"
#include "matcomp/formats/checkpoint.h"
#include "matcomp/layers/optim/lr_schedule.h"

namespace mc {

Cifar10Task::Cifar10Task(const std::string& cifar_dir, Cifar10Recipe recipe)
    : dir_(cifar_dir),
      recipe_(recipe),
      train_(data::load_cifar10(cifar_dir, data::Cifar10Part::Train)),
      test_(data::load_cifar10(cifar_dir, data::Cifar10Part::Test)) {
  MC_CHECK(recipe_.batch > 0 && recipe_.learning_rate > 0, ValueError, "cifar10: batch and learning rate must be positive");
  MC_CHECK(recipe_.schedule != Cifar10Schedule::Cosine ||
               (recipe_.warmup_steps >= 0 && recipe_.cosine_steps > recipe_.warmup_steps),
           ValueError,
           "cifar10: the cosine schedule needs 0 <= warm-up steps (" << recipe_.warmup_steps << ") < its length ("
                                                                    << recipe_.cosine_steps << ")");
}

Cifar10Task::~Cifar10Task() = default;

nlohmann::json Cifar10Task::recipe_json() const { return mc::recipe_json(recipe_); }

nlohmann::json recipe_json(const Cifar10Recipe& recipe_) {
  nlohmann::json j = {{"batch", recipe_.batch},         {"learning_rate", recipe_.learning_rate},
                      {"decay_steps", recipe_.decay_steps}, {"decay_rate", recipe_.decay_rate},
                      {"ema_decay", recipe_.ema_decay},     {"eval_images", recipe_.eval_images}};
  // The fields added with the fast recipe are written only where they leave the reference's
  // values, so the fingerprints of sweeps made before them still match.
  const Cifar10Recipe reference;
  if (recipe_.schedule == Cifar10Schedule::Cosine)
    j["schedule"] = "cosine", j["warmup_steps"] = recipe_.warmup_steps, j["cosine_steps"] = recipe_.cosine_steps;
  if (recipe_.momentum != reference.momentum) j["momentum"] = recipe_.momentum;
  if (recipe_.nesterov) j["nesterov"] = true;
  if (recipe_.weight_decay != reference.weight_decay) j["weight_decay"] = recipe_.weight_decay;
  if (recipe_.other_weight_decay != reference.other_weight_decay) j["other_weight_decay"] = recipe_.other_weight_decay;
  return j;
}

void apply_recipe_overrides(Cifar10Recipe& recipe, const std::string& overrides) {
  std::stringstream in(overrides);
  for (std::string item; std::getline(in, item, ',');) {
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    MC_CHECK(eq != std::string::npos && eq > 0 && eq + 1 < item.size(), ValueError,
             "--recipe: '" << item << "' is not key=value");
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    const auto number = [&](double min, double max) {
      char* end = nullptr;
      errno = 0;
      const double v = std::strtod(value.c_str(), &end);
      MC_CHECK(end != value.c_str() && *end == '\0' && errno != ERANGE && std::isfinite(v) && v >= min && v <= max, ValueError,
               "--recipe: " << key << "=" << value << " must be a number in [" << min << ", " << max << "]");
      return v;
    };
    const auto steps = [&] {
      const double v = number(0, 1e12);
      MC_CHECK(v == std::floor(v), ValueError, "--recipe: " << key << "=" << value << " must be a whole number of steps");
      return static_cast<int64_t>(v);
    };
    if (key == "lr") {
      recipe.learning_rate = static_cast<float>(number(1e-8, 100));
    } else if (key == "schedule") {
      MC_CHECK(value == "staircase" || value == "cosine", ValueError,
               "--recipe: schedule=" << value << " must be staircase or cosine");
      recipe.schedule = value == "cosine" ? Cifar10Schedule::Cosine : Cifar10Schedule::Staircase;
    } else if (key == "decay_steps") {
      recipe.decay_steps = steps();
    } else if (key == "decay_rate") {
      recipe.decay_rate = static_cast<float>(number(1e-8, 1));
    } else if (key == "warmup") {
      recipe.warmup_steps = steps();
    } else if (key == "momentum") {
      recipe.momentum = static_cast<float>(number(0, 0.999));
    } else if (key == "nesterov") {
      MC_CHECK(value == "0" || value == "1", ValueError, "--recipe: nesterov=" << value << " must be 0 or 1");
      recipe.nesterov = value == "1";
    } else if (key == "wd") {
      recipe.weight_decay = static_cast<float>(number(0, 1));
    } else if (key == "other_wd") {
      recipe.other_weight_decay = static_cast<float>(number(0, 1));
    } else if (key == "ema") {
      const double v = number(0, 0.999999);
      recipe.ema_decay = static_cast<float>(v);
    } else {
      MC_CHECK(false, ValueError,
               "--recipe: unknown key '" << key
                                         << "' (known: lr, schedule, decay_steps, decay_rate, warmup, momentum, nesterov, "
                                            "wd, other_wd, ema)");
    }
  }
}

std::vector<std::string> Cifar10Task::data_files() const {
  return list_data_files(dir_, {"data_batch_", "test_batch", "cifar-10-binary.tar.gz"});
}

void Cifar10Task::check_data() const {
  // Training drops the last partial batch: fewer images than one batch would yield none.
  MC_CHECK(train_.size() >= recipe_.batch, ValueError,
           "cifar10: the training batches in " << dir_ << " (data_batch_1..5.bin[.gz]) hold " << train_.size()
                                               << " images, fewer than one batch of " << recipe_.batch);
  MC_CHECK(test_.size() > 0, ValueError, "cifar10: " << dir_ << "/test_batch.bin[.gz] holds no image to evaluate on");
}

void Cifar10Task::init(uint64_t seed) {
  loader_.reset();
  seed_ = seed;
  rng_ = Rng(seed);
  Cifar10CnnConfig architecture{.batch = recipe_.batch};
  architecture.weight_decay = recipe_.weight_decay, architecture.other_weight_decay = recipe_.other_weight_decay;
  model_ = std::make_unique<Cifar10Cnn>(architecture, rng_);
  if (parallel_) parallel_->attach(*model_);
  optimizer_ = std::make_unique<SGD>(*model_, recipe_.learning_rate, SgdOptions{recipe_.momentum, recipe_.nesterov});
  ema_ = recipe_.ema_decay > 0 ? std::make_unique<ExponentialMovingAverage>(*model_, recipe_.ema_decay) : nullptr;
  loader_next_ = 0;
}

void Cifar10Task::set_data_parallel(Communicator* comm) {
  parallel_ = DataParallel::for_batch(comm, recipe_.batch, "cifar10");
}

double Cifar10Task::learning_rate(int64_t step) const { return cifar10_learning_rate(recipe_, step); }

double cifar10_learning_rate(const Cifar10Recipe& recipe, int64_t step) {
  if (recipe.schedule == Cifar10Schedule::Cosine)
    return CosineDecay{recipe.learning_rate, recipe.cosine_steps, recipe.warmup_steps, 0.0f}(step);
  if (recipe.decay_steps <= 0) return recipe.learning_rate;
  return ExponentialDecay{recipe.learning_rate, recipe.decay_steps, recipe.decay_rate, /*staircase=*/true}(step);
}

float Cifar10Task::train_step(int64_t step, CompressionController* compression) {
  MC_CHECK(model_ != nullptr, Error, "cifar10: init() was not called");
  // One batch per step: the data position is the step, so a resumed run sees the same batches.
  if (!loader_ || loader_next_ != step) {
    loader_.reset();
    // Data parallel: this rank decodes and augments only its share of the global batch (the
    // rows the whole batch would have there).
    const BatchShare mine = parallel_ ? parallel_->share(recipe_.batch) : BatchShare{0, recipe_.batch};
    loader_ = std::make_unique<data::Cifar10Loader>(train_, recipe_.batch, true, seed_, 2, step,
                                                    data::ExampleRange{mine.begin, mine.end});
  }
  Tensor images;
  std::vector<int32_t> labels;
  if (!loader_->next(images, labels)) loader_->next(images, labels);  // an epoch ended
  loader_next_ = step + 1;

  optimizer_->set_learning_rate(static_cast<float>(learning_rate(step)));
  Var loss = softmax_cross_entropy(model_->forward(Var(images)), labels);
  // Every rank checks the same (global) value, so they all stop together on a divergence.
  const float value = parallel_ ? parallel_->global_mean(loss.value().item(), images.size(0)) : loss.value().item();
  MC_CHECK(std::isfinite(value), ValueError, "cifar10: the training loss is " << value << " at step " << step
                                                 << " (diverged: lower the learning rate or check the compression settings)");
  model_->zero_grad();
  loss.backward();
  if (parallel_) parallel_->reduce_gradients(images.size(0));  // before the gradient-aware pruning scores see them
  if (compression) compression->after_backward(step);
  optimizer_->step();
  if (compression) compression->after_optimizer_step(step);
  if (ema_) ema_->update();
  return value;
}

double Cifar10Task::evaluate() { return accuracy_on_test(recipe_.eval_images); }

// The first progress_images test images (never more than the final evaluation sees: the
// smoke preset evaluates 256).
int64_t Cifar10Task::progress_images() const {
  const int64_t final_images = recipe_.eval_images > 0 ? std::min(recipe_.eval_images, test_.size()) : test_.size();
  return recipe_.progress_images > 0 ? std::min(recipe_.progress_images, final_images) : final_images;
}

std::string Cifar10Task::progress_metric() const { return "test_accuracy_first_" + std::to_string(progress_images()); }

double Cifar10Task::evaluate_progress() { return accuracy_on_test(progress_images()); }

void Cifar10Task::with_evaluation_weights(const std::function<void()>& use) {
  if (!ema_) return use();
  ema_->apply();
  try {
    use();
  } catch (...) {
    ema_->restore();
    throw;
  }
  ema_->restore();
}

double Cifar10Task::accuracy_on_test(int64_t count) {
  double accuracy = 0;
  with_evaluation_weights([&] { accuracy = accuracy_of_current_weights(count); });
  return accuracy;
}

double Cifar10Task::accuracy_of_current_weights(int64_t count) {
  model_->train(false);
  NoGradGuard no_grad;
  data::Cifar10Loader loader(test_, recipe_.batch, false, 0);
  const int64_t limit = count > 0 ? std::min(count, test_.size()) : test_.size();
  // Data parallel: each rank classifies its share of every test batch and the counts are summed.
  int64_t first = 0;        // index of the batch's first image in the test set
  float counts[2] = {0, 0};  // correct, seen (exact in float up to 2^24 images)
  Tensor images;
  std::vector<int32_t> labels;
  while (first < limit && loader.next(images, labels)) {
    const BatchShare mine = parallel_ ? parallel_->share(images.size(0)) : BatchShare{0, images.size(0)};
    const Tensor logits = mine.size() > 0 ? model_->forward(Var(images.rows(mine.begin, mine.end))).value() : Tensor();
    const int64_t classes = mine.size() > 0 ? logits.size(1) : 0;
    for (int64_t i = mine.begin; i < mine.end && first + i < limit; ++i) {
      const float* row = logits.data() + (i - mine.begin) * classes;
      const auto predicted = std::max_element(row, row + classes) - row;
      counts[0] += predicted == labels[static_cast<size_t>(i)] ? 1.0f : 0.0f;
      counts[1] += 1;
    }
    first += images.size(0);
  }
  if (parallel_) parallel_->comm().allreduce_sum(counts, 2);
  model_->train(true);
  return static_cast<double>(counts[0]) / static_cast<double>(counts[1]);
}

double Cifar10Task::infer_ms() {
  NoGradGuard no_grad;
  model_->train(false);
  data::Cifar10Loader loader(test_, recipe_.batch, false, 0);
  Tensor images;
  std::vector<int32_t> labels;
  loader.next(images, labels);
  const double ms = median_milliseconds(5, [&] { model_->forward(Var(images)); });
  model_->train(true);
  return ms;
}

void Cifar10Task::save(const std::string& path, int64_t step, const nlohmann::json& extra) {
  save_task_checkpoint(parallel_.get(), path, *model_, optimizer_.get(), step, &rng_, ema_.get(), extra, {});
}

int64_t Cifar10Task::load(const std::string& path, const ExtraCheck& check_extra) {
  const Checkpoint checkpoint = read_checkpoint(path);
  if (check_extra) check_extra(checkpoint.metadata.value("extra", nlohmann::json::object()));
  apply_checkpoint(checkpoint, *model_, optimizer_.get(), &rng_, ema_.get());
  loader_.reset();
  return checkpoint.step();
}

}  // namespace mc
