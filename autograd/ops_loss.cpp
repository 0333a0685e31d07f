// Softmax cross-entropy, fused: forward keeps the softmax probabilities, backward is
// (p - onehot(label)) / n. Stable: each row's maximum is subtracted before exp.
#include <algorithm>
#include <cmath>

#include "matcomp/autograd/node.h"
#include "matcomp/autograd/ops.h"
#include "matcomp/autograd/softmax_cross_entropy_node.h"
#include "matcomp/core/error.h"

namespace mc {

void check_softmax_cross_entropy_args(const char* op, const Tensor& z, const std::vector<int32_t>& labels) {
  MC_CHECK(z.dim() == 2, ShapeError, op << " needs logits (n, classes), got " << to_string(z.shape()));
  const int64_t n = z.size(0), c = z.size(1);
  MC_CHECK(static_cast<int64_t>(labels.size()) == n, ShapeError,
           op << ": " << labels.size() << " labels for logits " << to_string(z.shape()));
  MC_CHECK(n > 0 && c > 0, ShapeError, op << " of empty logits " << to_string(z.shape()));
  for (int64_t i = 0; i < n; ++i) {
    const int32_t y = labels[static_cast<size_t>(i)];
    MC_CHECK(y >= 0 && y < c, ValueError, op << ": label " << y << " at row " << i << " is outside [0, " << c << ")");
  }
}

Var record_softmax_cross_entropy(const Var& logits, Tensor probs, double mean_loss, std::vector<int32_t> labels) {
  const int64_t n = probs.size(0), c = probs.size(1);
  Tensor loss = Tensor::scalar(static_cast<float>(mean_loss));
  // d loss / d z = (p - onehot(label)) / n
  return record("softmax_cross_entropy", std::move(loss), {logits},
                [saved = SavedTensor(std::move(probs), "softmax_cross_entropy"), labels = std::move(labels), n,
                 c](const Grads& g, const Needs&) {
                  const Tensor& p = saved.get();
                  Tensor gz = Tensor::empty(p.shape());
                  const float k = g[0].item() / static_cast<float>(n);
#pragma omp parallel for if (n * c > 65536)
                  for (int64_t i = 0; i < n; ++i) {
                    const float* pi = p.data() + i * c;
                    float* gi = gz.data() + i * c;
#pragma omp simd
                    for (int64_t j = 0; j < c; ++j) gi[j] = pi[j] * k;
                    gi[labels[static_cast<size_t>(i)]] -= k;
                  }
                  return Grads{gz};
                });
}

Var softmax_cross_entropy(const Var& logits, const std::vector<int32_t>& labels) {
  const Tensor& z = logits.value();
  check_softmax_cross_entropy_args("softmax_cross_entropy", z, labels);
  const int64_t n = z.size(0), c = z.size(1);
  Tensor probs = Tensor::empty(z.shape());  // (n, c)
  double total = 0;
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
    total += std::log(s) + mx - row[labels[static_cast<size_t>(i)]];
  }
  return record_softmax_cross_entropy(logits, std::move(probs), total / static_cast<double>(n), labels);
}

}  // namespace mc
