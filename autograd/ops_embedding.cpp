// Embedding gather: out row i = table row ids[i]; backward scatters rows back (adding, as
// an id may repeat).
#include <cstring>

#include "matcomp/autograd/node.h"
#include "matcomp/autograd/ops.h"
#include "matcomp/core/error.h"

namespace mc {

Var embedding(const Var& table, const std::vector<int32_t>& ids) {
  const Tensor& t = table.value();
  MC_CHECK(t.dim() == 2, ShapeError, "embedding table must be (vocab, dim), got " << to_string(t.shape()));
  const int64_t vocab = t.size(0), dim = t.size(1), n = static_cast<int64_t>(ids.size());
  for (int64_t i = 0; i < n; ++i)
    MC_CHECK(ids[static_cast<size_t>(i)] >= 0 && ids[static_cast<size_t>(i)] < vocab, ValueError,
             "embedding: id " << ids[static_cast<size_t>(i)] << " at position " << i << " is outside [0, " << vocab << ")");
  Tensor out = Tensor::empty({n, dim});
#pragma omp parallel for if (n * dim > 65536)
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(out.data() + i * dim, t.data() + static_cast<int64_t>(ids[static_cast<size_t>(i)]) * dim,
                sizeof(float) * static_cast<size_t>(dim));
  return record("embedding", std::move(out), {table}, [ids, vocab, dim](const Grads& g, const Needs&) {
    Tensor gt = Tensor::zeros({vocab, dim});
    const float* pg = g[0].data();
    for (size_t i = 0; i < ids.size(); ++i) {
      float* row = gt.data() + static_cast<int64_t>(ids[i]) * dim;
      const float* src = pg + static_cast<int64_t>(i) * dim;
      for (int64_t j = 0; j < dim; ++j) row[j] += src[j];
    }
    return Grads{gt};
  });
}

}  // namespace mc
