#include "matcomp/layers/modules/weight.h"

#include <nlohmann/json.hpp>

#include "matcomp/autograd/ops.h"
#include "matcomp/core/error.h"
#include "matcomp/layers/kernels/affine_op.h"

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

nlohmann::json DenseWeight::config() const {
  ParamGroup g;
  for (const auto& [name, group] : named_parameter_groups())
    if (name == "A") g = group;
  return {{"rows", rows()}, {"cols", cols()}, {"weight_decay", g.weight_decay}, {"lr_scale", g.lr_scale}};
}

std::shared_ptr<DenseWeight> DenseWeight::from_config(const nlohmann::json& c) {
  const ParamGroup g{.weight_decay = c.value("weight_decay", 0.0f), .lr_scale = c.value("lr_scale", 1.0f)};
  const int64_t rows = c.at("rows").get<int64_t>(), cols = c.at("cols").get<int64_t>();
  MC_CHECK(rows > 0 && cols > 0, ValueError, "DenseWeight config: rows and cols must be positive, got " << c.dump());
  return std::make_shared<DenseWeight>(Tensor::zeros({rows, cols}), g);
}

Var Weight::affine(const Var& x, const Var& bias) { return add(multiply(x), bias); }

}  // namespace mc
