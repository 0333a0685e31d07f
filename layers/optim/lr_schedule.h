// Learning-rate schedules: pure functions of the step, so a restored run gets the same rate
// from the step count alone.
//
//   opt.set_learning_rate(ExponentialDecay{.base_lr = 0.1f, .decay_steps = 350 * steps_per_epoch,
//                                          .decay_rate = 0.1f, .staircase = true}(opt.steps()));
#pragma once

#include <cstdint>

namespace mc {

// base_lr * gamma ^ floor(max(step - start, 0) / step_size). TF's PTB model (lr 1, halved every
// epoch after epoch 4) is {1, epoch, 0.5, 3 * epoch}.
struct StepDecay {
  float base_lr = 1.0f;
  int64_t step_size = 1;
  float gamma = 0.1f;
  int64_t start = 0;
  float operator()(int64_t step) const;
};

// base_lr * decay_rate ^ (step / decay_steps), the exponent floored when staircase (TF's
// exponential_decay; the CIFAR-10 model uses 0.1, 0.1 every 350 epochs, staircase).
struct ExponentialDecay {
  float base_lr = 0.1f;
  int64_t decay_steps = 1;
  float decay_rate = 0.1f;
  bool staircase = false;
  float operator()(int64_t step) const;
};

// Linear warmup from 0 to base_lr over warmup_steps, then a half cosine from base_lr down to
// min_lr at total_steps (min_lr afterwards).
struct CosineDecay {
  float base_lr = 0.1f;
  int64_t total_steps = 1;
  int64_t warmup_steps = 0;
  float min_lr = 0.0f;
  float operator()(int64_t step) const;
};

}  // namespace mc
