// Embedding: ids -> rows of a (vocab, dim) table. The table is reached through the "weight"
// seam (weight()->dense()), so compression can replace it like any other matrix.
#pragma once

#include <cstdint>
#include <vector>

#include "matcomp/core/rng.h"
#include "matcomp/layers/modules/module.h"
#include "matcomp/layers/modules/weight.h"

namespace mc {

class Embedding : public Module {
 public:
  explicit Embedding(Tensor table_init, ParamGroup group = {});  // (vocab, dim)
  Embedding(int64_t vocab, int64_t dim, float init_scale, Rng& rng);  // U(-init_scale, init_scale)
  std::string type() const override { return "Embedding"; }
  Var forward(const std::vector<int32_t>& ids);  // n ids -> (n, dim)
  std::shared_ptr<Weight> weight() const { return child<Weight>("weight"); }
  int64_t vocab() const { return weight()->rows(); }
  int64_t dim() const { return weight()->cols(); }
};

}  // namespace mc
