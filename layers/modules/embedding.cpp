#include "matcomp/layers/modules/embedding.h"

#include "matcomp/autograd/ops.h"
#include "matcomp/core/error.h"
#include "matcomp/layers/modules/init.h"

namespace mc {

Embedding::Embedding(Tensor table_init, ParamGroup group) {
  MC_CHECK(table_init.dim() == 2, ShapeError, "Embedding table must be (vocab, dim), got " << to_string(table_init.shape()));
  register_module("weight", std::make_shared<DenseWeight>(std::move(table_init), group));
}

Embedding::Embedding(int64_t vocab, int64_t dim, float init_scale, Rng& rng)
    : Embedding(uniform_init({vocab, dim}, init_scale, rng)) {}

Var Embedding::forward(const std::vector<int32_t>& ids) { return embedding(weight()->dense(), ids); }

}  // namespace mc
