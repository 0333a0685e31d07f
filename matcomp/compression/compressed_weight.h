// The two weight seams compression swaps into a layer (layers/weight.h):
//   BlendedWeight: during the blend, W = alpha A + (1 - alpha) Â, with A still training
//                  (its gradient scaled by alpha) and the factors training (scaled by 1 - alpha).
//   FactoredWeight: after the switch, only the factors: A is gone from the model.
// Parameters are registered under the seam, e.g. "local3.weight.A" during the blend and
// "local3.weight.B", "local3.weight.C" for low rank. Trainable factors are parameters;
// frozen float factors are buffers (they are saved, but no optimizer touches them).
#pragma once

#include <memory>

#include "matcomp/compression/compressed_matrix.h"
#include "matcomp/layers/weight.h"

namespace mc {

class FactoredWeight : public Weight {
 public:
  FactoredWeight(std::shared_ptr<CompressedMatrix> matrix, ParamGroup group);
  std::string type() const override { return "FactoredWeight"; }
  int64_t rows() const override { return matrix_->rows(); }
  int64_t cols() const override { return matrix_->cols(); }
  Var multiply(const Var& x) override;
  Var dense() override;
  Var affine(const Var& x, const Var& bias) override;  // the method's product with the bias folded in
  const std::shared_ptr<CompressedMatrix>& matrix() const { return matrix_; }

 protected:
  std::vector<Var> factor_vars();  // one per factor, from the registry

 private:
  std::shared_ptr<CompressedMatrix> matrix_;
};

class BlendedWeight : public FactoredWeight {
 public:
  BlendedWeight(Var a, ParamGroup a_group, std::shared_ptr<CompressedMatrix> matrix, ParamGroup factor_group, double alpha);
  std::string type() const override { return "BlendedWeight"; }
  Var multiply(const Var& x) override;
  Var dense() override;
  Var affine(const Var& x, const Var& bias) override;  // multiply (both terms), then the bias
  double alpha() const { return alpha_; }
  void set_alpha(double alpha) { alpha_ = alpha; }

 private:
  double alpha_;
};

}  // namespace mc
