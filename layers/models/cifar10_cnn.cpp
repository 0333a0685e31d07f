#include "matcomp/layers/models/cifar10_cnn.h"

#include "matcomp/autograd/ops.h"
#include "matcomp/core/error.h"
#include "matcomp/layers/modules/conv2d.h"
#include "matcomp/layers/modules/dense.h"
#include "matcomp/layers/modules/init.h"
#include "matcomp/layers/modules/lrn.h"
#include "matcomp/layers/modules/pool2d.h"

namespace mc {

namespace {
constexpr int64_t kKernel = 5;
const Pool2dSpec kPool{3, 3, 2, Padding::Same};
}  // namespace

Cifar10Cnn::Cifar10Cnn(const Cifar10CnnConfig& config, Rng& rng) : config_(config) {
  const int64_t c = config.conv_channels;
  const ParamGroup other_decay{.weight_decay = config.other_weight_decay};
  Conv2dOptions conv1{
      .stride = 1, .padding = Padding::Same, .relu = true, .bias = true, .bias_init = 0.0f, .group = other_decay};
  register_module("conv1", std::make_shared<Conv2d>(truncated_normal({kKernel * kKernel * config.channels, c}, 5e-2f, rng),
                                                    kKernel, kKernel, conv1));
  register_module("pool1", std::make_shared<MaxPool2d>(kPool));
  register_module("norm1", std::make_shared<LRN>());
  Conv2dOptions conv2 = conv1;
  conv2.bias_init = 0.1f;
  register_module("conv2",
                  std::make_shared<Conv2d>(truncated_normal({kKernel * kKernel * c, c}, 5e-2f, rng), kKernel, kKernel, conv2));
  register_module("norm2", std::make_shared<LRN>());
  register_module("pool2", std::make_shared<MaxPool2d>(kPool));
  // Two SAME stride-2 pools: size -> ceil(size / 2) -> ceil(. / 2).
  const int64_t pooled = ((config.image_size + 1) / 2 + 1) / 2;
  const int64_t flat = c * pooled * pooled;
  const ParamGroup decay{.weight_decay = config.weight_decay};
  register_module("local3", std::make_shared<Dense>(truncated_normal({flat, config.local3}, 0.04f, rng), 0.1f, decay));
  register_module("local4",
                  std::make_shared<Dense>(truncated_normal({config.local3, config.local4}, 0.04f, rng), 0.1f, decay));
  register_module("softmax_linear",
                  std::make_shared<Dense>(
                      truncated_normal({config.local4, config.num_classes}, 1.0f / static_cast<float>(config.local4), rng),
                      0.0f, other_decay));
}

void to_json(nlohmann::json& j, const Cifar10CnnConfig& c) {
  j = {{"batch", c.batch},     {"image_size", c.image_size}, {"channels", c.channels},       {"conv_channels", c.conv_channels},
       {"local3", c.local3},   {"local4", c.local4},         {"num_classes", c.num_classes}, {"weight_decay", c.weight_decay}};
  // Written only when set: files of models without it stay as they were.
  if (c.other_weight_decay != 0) j["other_weight_decay"] = c.other_weight_decay;
}

void from_json(const nlohmann::json& j, Cifar10CnnConfig& c) {
  MC_CHECK(j.is_object(), ValueError, "Cifar10Cnn config must be a JSON object, got " << j.dump());
  c.batch = j.value("batch", c.batch);
  c.image_size = j.value("image_size", c.image_size);
  c.channels = j.value("channels", c.channels);
  c.conv_channels = j.value("conv_channels", c.conv_channels);
  c.local3 = j.value("local3", c.local3);
  c.local4 = j.value("local4", c.local4);
  c.num_classes = j.value("num_classes", c.num_classes);
  c.weight_decay = j.value("weight_decay", c.weight_decay);
  c.other_weight_decay = j.value("other_weight_decay", c.other_weight_decay);
}

nlohmann::json Cifar10Cnn::config() const { return config_; }

Var Cifar10Cnn::forward(const Var& images) {
  const int64_t s = config_.image_size;
  MC_CHECK(images.value().dim() == 4 && images.shape()[1] == config_.channels && images.shape()[2] == s &&
               images.shape()[3] == s,
           ShapeError,
           "Cifar10Cnn expects images (N, " << config_.channels << ", " << s << ", " << s << "), got "
                                            << to_string(images.shape()));
  // conv1 + ReLU + pool1 in one op: its 64 x 24 x 24 activation is never stored.
  Var x = child<Conv2d>("conv1")->forward_maxpool(images, child<MaxPool2d>("pool1")->spec());
  x = child<LRN>("norm1")->forward(x);
  x = child<Conv2d>("conv2")->forward(x);  // ReLU fused
  x = child<LRN>("norm2")->forward_maxpool(x, child<MaxPool2d>("pool2")->spec());  // norm2 + pool2, one op
  x = reshape(x, {x.shape()[0], -1});
  x = relu(child<Dense>("local3")->forward(x));
  x = relu(child<Dense>("local4")->forward(x));
  return child<Dense>("softmax_linear")->forward(x);
}

}  // namespace mc
