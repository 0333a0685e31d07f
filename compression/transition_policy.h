// Transition policies: how one selected layer moves from dense to compressed. The controller
// (apply_compression.h) is only the schedule's clock; each layer has its policy, chosen by its
// method (the method registry names it: "prune" for pruning, "blend" for the others) or by
// the spec's rule. Built in: "blend" (blend_policy.h) and "prune" (prune_policy.h).
//
// A policy keeps no state of its own that a checkpoint would need: the layer's phase, alpha
// and matrix live in its CompressedWeight seam, and policy state (pruning scores) in child
// modules of that seam, all in the model's registry.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "matcomp/compression/compressed_weight.h"
#include "matcomp/compression/matrix_compressor.h"
#include "matcomp/layers/modules/module.h"

namespace mc {

struct CompressionSpec;

// One selected layer, as its policy sees it.
struct CompressionLayer {
  Module& model;
  std::string name;                   // the weight seam's dotted path ("local3.weight")
  const MatrixCompressor& compressor;
  uint64_t seed;                      // for this layer's factorisation

  // The seam, from the registry (never cached: a checkpoint load may have replaced it).
  std::shared_ptr<CompressedWeight> seam() const;
  // Factors the seam's A with the compressor, seeded by `seed`.
  std::shared_ptr<CompressedMatrix> compress() const;
  // Puts `matrix` in place of the seam: blend when alpha > 0 (A stays), factored otherwise
  // (A leaves the model). The old seam's children (policy state) move to the new one.
  void install(std::shared_ptr<CompressedMatrix> matrix, double alpha, double rel_error) const;
};

class TransitionPolicy {
 public:
  virtual ~TransitionPolicy() = default;
  virtual std::string name() const = 0;
  // Before the forward pass of `step`. Returns true when the layer changed structure in a way
  // worth reporting (an event).
  virtual bool before_step(const CompressionLayer& layer, int64_t step) = 0;
  // After loss.backward() of `step`, before the optimizer.
  virtual void after_backward(const CompressionLayer&, int64_t) {}
};

using PolicyFactory =
    std::function<std::unique_ptr<TransitionPolicy>(const CompressionSpec& spec, const MatrixCompressor& compressor)>;

// Adds (or replaces) a policy. Register at start-up.
void register_policy(const std::string& name, PolicyFactory factory);
// ValueError naming the unknown policy and the known ones.
std::unique_ptr<TransitionPolicy> make_policy(const std::string& name, const CompressionSpec& spec,
                                              const MatrixCompressor& compressor);
std::vector<std::string> registered_policies();

}  // namespace mc
