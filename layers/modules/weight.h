// Weight: the one seam between a layer and its weight matrix. A layer never touches its
// matrix directly; it asks its "weight" child for the product with an input, or for the
// effective dense matrix. Compression replaces this child (through Module::replace_module)
// with a blended or factored one, and the layer keeps working unchanged.
//
// Shapes: the matrix is (rows, cols) = (inputs, outputs); multiply(x) maps x (batch, rows)
// to (batch, cols).
#pragma once

#include "matcomp/autograd/variable.h"
#include "matcomp/layers/modules/module.h"

namespace mc {

class Weight : public Module {
 public:
  virtual int64_t rows() const = 0;
  virtual int64_t cols() const = 0;
  virtual Var multiply(const Var& x) = 0;  // x (batch, rows) -> (batch, cols)
  virtual Var dense() = 0;                 // the effective (rows, cols) matrix, differentiable
  // x W + bias (cols): a layer's affine map. Default: multiply, then add; seams that can fold
  // the bias into their product override it.
  virtual Var affine(const Var& x, const Var& bias);
};

// The uncompressed weight: one parameter "A" (rows, cols).
class DenseWeight : public Weight {
 public:
  DenseWeight(Tensor init, ParamGroup group = {});
  std::string type() const override { return "DenseWeight"; }
  nlohmann::json config() const override;  // {"rows", "cols", "weight_decay", "lr_scale"}
  static std::shared_ptr<DenseWeight> from_config(const nlohmann::json& config);  // zeros
  int64_t rows() const override;
  int64_t cols() const override;
  Var multiply(const Var& x) override;
  Var dense() override;
  Var affine(const Var& x, const Var& bias) override;  // one sgemm with the bias as its C
};

}  // namespace mc
