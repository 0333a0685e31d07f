// The reference CIFAR-10 model (TensorFlow's deep-CNN tutorial), NCHW:
//
//   images (N, 3, 24, 24)
//   conv1          5x5x3x64 SAME + ReLU         -> (N, 64, 24, 24)
//   pool1          max 3x3 stride 2 SAME        -> (N, 64, 12, 12)
//   norm1          LRN (radius 4, bias 1, alpha 0.001/9, beta 0.75)
//   conv2          5x5x64x64 SAME + ReLU        -> (N, 64, 12, 12)
//   norm2          LRN
//   pool2          max 3x3 stride 2 SAME        -> (N, 64, 6, 6), flattened to (N, 2304)
//   local3         Dense 2304 -> 384 + ReLU
//   local4         Dense 384 -> 192 + ReLU
//   softmax_linear Dense 192 -> 10              -> logits (N, 10)
//
// forward() runs conv1 + ReLU + pool1 as one fused op (Conv2d::forward_maxpool) and norm2 +
// pool2 as another (LRN::forward_maxpool): same values and gradients as the layers one by one,
// without the full-size activations in between. The pool and norm children stay in the
// registry and supply their specs.
//
// Parameters are named as the tutorial's variables: "conv1.weight.A", "conv1.bias", ...,
// "local3.weight.A" (2304, 384), "softmax_linear.bias". local3 and local4 weights carry weight
// decay 0.004 as their ParamGroup. Initialisation as the tutorial: truncated normal kernels
// (conv 5e-2, local3/local4 0.04, softmax_linear 1/192), biases conv1 0, conv2 0.1,
// local3/local4 0.1, softmax_linear 0.
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

#include "matcomp/core/rng.h"
#include "matcomp/layers/modules/module.h"

namespace mc {

struct Cifar10CnnConfig {
  int64_t batch = 128;        // the tutorial's batch (for drivers and benchmarks; forward takes any N)
  int64_t image_size = 24;    // square crops
  int64_t channels = 3;
  int64_t conv_channels = 64;
  int64_t local3 = 384;
  int64_t local4 = 192;
  int64_t num_classes = 10;
  float weight_decay = 0.004f;  // on local3 and local4 kernels
  // On the conv1, conv2 and softmax_linear kernels; 0 in the reference, which decays only the
  // two locally connected layers.
  float other_weight_decay = 0.0f;
};
void to_json(nlohmann::json& j, const Cifar10CnnConfig& c);
void from_json(const nlohmann::json& j, Cifar10CnnConfig& c);  // absent keys keep their defaults

class Cifar10Cnn : public Module {
 public:
  Cifar10Cnn(const Cifar10CnnConfig& config, Rng& rng);
  explicit Cifar10Cnn(Rng& rng) : Cifar10Cnn(Cifar10CnnConfig{}, rng) {}
  std::string type() const override { return "Cifar10Cnn"; }
  Var forward(const Var& images);  // (N, channels, image_size, image_size) -> logits (N, num_classes)
  const Cifar10CnnConfig& architecture() const { return config_; }
  nlohmann::json config() const override;  // the architecture (module_factory.h builds it back)

 private:
  Cifar10CnnConfig config_;
};

}  // namespace mc
