#include "matcomp/layers/weight.h"

#include "matcomp/autograd/ops.h"
#include "matcomp/core/error.h"
#include "matcomp/layers/affine_op.h"

namespace mc {

DenseWeight::DenseWeight(Tensor init, ParamGroup group) {
  MC_CHECK(init.dim() == 2, ShapeError, "DenseWeight needs a 2-D matrix, got " << to_string(init.shape()));
  register_parameter("A", std::move(init), group);
}

int64_t DenseWeight::rows() const { return const_cast<DenseWeight*>(this)->own_parameter("A").value().size(0); }
int64_t DenseWeight::cols() const { return const_cast<DenseWeight*>(this)->own_parameter("A").value().size(1); }

Var DenseWeight::multiply(const Var& x) { return matmul(x, own_parameter("A")); }

Var DenseWeight::dense() { return own_parameter("A"); }

Var DenseWeight::affine(const Var& x, const Var& bias) { return mc::affine(x, own_parameter("A"), bias); }

Var Weight::affine(const Var& x, const Var& bias) { return add(multiply(x), bias); }

}  // namespace mc
