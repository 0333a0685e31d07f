#include "matcomp/compression/compressed_weight.h"

#include "matcomp/autograd/ops.h"
#include "matcomp/compression/compressed_ops.h"
#include "matcomp/core/error.h"

namespace mc {

FactoredWeight::FactoredWeight(std::shared_ptr<CompressedMatrix> matrix, ParamGroup group) : matrix_(std::move(matrix)) {
  MC_CHECK(matrix_ != nullptr, ValueError, "FactoredWeight needs a compressed matrix");
  for (const Factor& f : matrix_->factors()) {
    if (f.trainable) {
      ParamGroup factor_group = group;
      factor_group.lr_scale *= f.lr_scale;
      register_parameter(f.name, Var(f.value, true, f.name), factor_group);
    } else {
      register_buffer(f.name, f.value);
    }
  }
}

std::vector<Var> FactoredWeight::factor_vars() {
  std::vector<Var> vars;
  for (const Factor& f : matrix_->factors()) {
    if (f.trainable) vars.push_back(own_parameter(f.name));
    else vars.emplace_back(f.value);
  }
  return vars;
}

Var FactoredWeight::multiply(const Var& x) { return compressed_multiply(x, matrix_, factor_vars()); }

Var FactoredWeight::affine(const Var& x, const Var& bias) { return compressed_affine(x, matrix_, factor_vars(), bias); }

Var FactoredWeight::dense() { return compressed_dense(matrix_, factor_vars()); }

BlendedWeight::BlendedWeight(Var a, ParamGroup a_group, std::shared_ptr<CompressedMatrix> matrix, ParamGroup factor_group,
                             double alpha)
    : FactoredWeight(std::move(matrix), factor_group), alpha_(alpha) {
  MC_CHECK(a.value().dim() == 2 && a.shape()[0] == rows() && a.shape()[1] == cols(), ShapeError,
           "BlendedWeight: A " << to_string(a.shape()) << " vs factors of a " << rows() << "x" << cols() << " matrix");
  register_parameter("A", std::move(a), a_group);
}

Var BlendedWeight::multiply(const Var& x) {
  const float a = static_cast<float>(alpha_);
  return add(scale(matmul(x, own_parameter("A")), a), scale(FactoredWeight::multiply(x), 1.0f - a));
}

Var BlendedWeight::affine(const Var& x, const Var& bias) { return add(multiply(x), bias); }

Var BlendedWeight::dense() {
  const float a = static_cast<float>(alpha_);
  return add(scale(own_parameter("A"), a), scale(FactoredWeight::dense(), 1.0f - a));
}

}  // namespace mc
