#include "matcomp/datasets/lm_batcher.h"

#include "matcomp/core/error.h"

namespace mc::data {

LmBatcher::LmBatcher(const std::vector<int32_t>& tokens, int64_t batch, int64_t unroll)
    : tokens_(tokens), batch_(batch), unroll_(unroll) {
  MC_CHECK(batch > 0 && unroll > 0, ValueError, "LmBatcher: batch and unroll must be positive, got " << batch << " and " << unroll);
  row_len_ = static_cast<int64_t>(tokens.size()) / batch;
  // One token of each row is only ever a target, hence the -1.
  windows_ = row_len_ > 0 ? (row_len_ - 1) / unroll : 0;
  MC_CHECK(windows_ > 0, ValueError,
           "LmBatcher: " << tokens.size() << " tokens give no window of batch " << batch << " x unroll " << unroll
                         << " (need at least " << batch * (unroll + 1) << ")");
}

void LmBatcher::window(int64_t i, std::vector<int32_t>& inputs, std::vector<int32_t>& targets) const {
  MC_CHECK(i >= 0 && i < windows_, ValueError, "LmBatcher: window " << i << " out of range 0.." << windows_ - 1);
  const size_t n = static_cast<size_t>(unroll_ * batch_);
  inputs.resize(n);
  targets.resize(n);
  const int32_t* data = tokens_.data();
  for (int64_t b = 0; b < batch_; ++b) {
    const int32_t* row = data + b * row_len_ + i * unroll_;  // row b, from step i*unroll
    for (int64_t t = 0; t < unroll_; ++t) {
      inputs[static_cast<size_t>(t * batch_ + b)] = row[t];
      targets[static_cast<size_t>(t * batch_ + b)] = row[t + 1];
    }
  }
}

}  // namespace mc::data
