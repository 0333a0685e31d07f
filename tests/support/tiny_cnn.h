// The small CIFAR-style model of the export, inference-path and model-tool tests (8x8
// images, 4 conv channels, local3 16 -> 24, local4 24 -> 12), and its compression at step 0.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "matcomp/compression/apply_compression.h"
#include "matcomp/layers/models/cifar10_cnn.h"
#include "matcomp/layers/modules/module.h"

namespace matcomp_test {

inline mc::Cifar10CnnConfig tiny_cnn() {
  mc::Cifar10CnnConfig c;
  c.image_size = 8, c.conv_channels = 4, c.local3 = 24, c.local4 = 12;
  return c;
}

// Compresses `layers` of `model` by `method` at ratio 0.3 from step 0: pruning at once, the
// others blended over `blend_steps` (0: replaced at once). Steps 0 and 1 have begun.
inline std::unique_ptr<mc::CompressionController> compress_at_step_0(mc::Module& model, const std::string& method,
                                                                     std::vector<std::string> layers,
                                                                     int64_t blend_steps = 0) {
  mc::CompressionSpec spec;
  spec.include = std::move(layers);
  spec.compressor = mc::by_ratio(method, 0.3);
  if (method == "prune") spec.pruning = mc::SparsitySchedule{0, 1, 1, 0.0, -1.0};
  else if (blend_steps == 0) spec.schedule = mc::BlendSchedule::immediate(0);
  else spec.schedule = mc::BlendSchedule{0, -1, 1, 1.0 / static_cast<double>(blend_steps)};
  auto c = mc::apply_compression(model, spec, 5);
  c->on_event = nullptr;
  c->before_step(0);
  c->before_step(1);
  return c;
}

}  // namespace matcomp_test
