// Softmax cross-entropy, fused: forward keeps the softmax probabilities, backward is
// (p - onehot(label)) / n. Stable: each row's maximum is subtracted before exp.
#include <cmath>

#include "matcomp/autograd/node.h"
#include "matcomp/autograd/ops.h"
#include "matcomp/core/error.h"

namespace mc {

Var softmax_cross_entropy(const Var& logits, const std::vector<int32_t>& labels) {
  const Tensor& z = logits.value();
  MC_CHECK(z.dim() == 2, ShapeError, "softmax_cross_entropy needs logits (n, classes), got " << to_string(z.shape()));
  const int64_t n = z.size(0), c = z.size(1);
  MC_CHECK(static_cast<int64_t>(labels.size()) == n, ShapeError,
           "softmax_cross_entropy: " << labels.size() << " labels for logits " << to_string(z.shape()));
  MC_CHECK(n > 0 && c > 0, ShapeError, "softmax_cross_entropy of empty logits " << to_string(z.shape()));
  Tensor probs = Tensor::empty(z.shape());  // (n, c)
  double total = 0;
  bool bad_label = false;
  int64_t bad_row = -1;
#pragma omp parallel for reduction(+ : total) if (n * c > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const float* row = z.data() + i * c;
    float* p = probs.data() + i * c;
    float mx = row[0];
    for (int64_t j = 1; j < c; ++j) mx = std::max(mx, row[j]);
    double s = 0;
    for (int64_t j = 0; j < c; ++j) {
      p[j] = std::exp(row[j] - mx);
      s += p[j];
    }
    const float inv = static_cast<float>(1.0 / s);
    for (int64_t j = 0; j < c; ++j) p[j] *= inv;
    const int32_t y = labels[static_cast<size_t>(i)];
    if (y < 0 || y >= c) {
#pragma omp critical
      {
        bad_label = true;
        bad_row = i;
      }
      continue;
    }
    total += std::log(s) + mx - row[y];
  }
  MC_CHECK(!bad_label, ValueError,
           "softmax_cross_entropy: label " << labels[static_cast<size_t>(bad_row)] << " at row " << bad_row
                                           << " is outside [0, " << c << ")");
  Tensor loss = Tensor::scalar(static_cast<float>(total / static_cast<double>(n)));
  return record("softmax_cross_entropy", std::move(loss), {logits},
                [saved = SavedTensor(probs, "softmax_cross_entropy"), labels, n, c](const Grads& g, const Needs&) {
                  const Tensor& p = saved.get();
                  Tensor gz = Tensor::empty(p.shape());
                  const float k = g[0].item() / static_cast<float>(n);
#pragma omp parallel for if (n * c > 65536)
                  for (int64_t i = 0; i < n; ++i) {
                    const float* pi = p.data() + i * c;
                    float* gi = gz.data() + i * c;
                    for (int64_t j = 0; j < c; ++j) gi[j] = pi[j] * k;
                    gi[labels[static_cast<size_t>(i)]] -= k;
                  }
                  return Grads{gz};
                });
}

}  // namespace mc
