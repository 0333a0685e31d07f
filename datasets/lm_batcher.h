// LmBatcher: the standard language-model batching (Zaremba et al.; TF's ptb_producer).
// The token stream is cut into `batch` rows of L = tokens / batch consecutive tokens (the
// tail that does not fill a row is dropped); window i covers steps [i*unroll, (i+1)*unroll)
// of every row, and its targets are the inputs shifted by one token. Row b of window i+1
// continues row b of window i, so an LSTM carries its state across consecutive windows.
//
//   LmBatcher batcher(corpus.train, 20, 35);
//   batcher.window(i, x, y);   // x, y: (unroll, batch) int32, time-major: x[t*batch + b]
#pragma once

#include <cstdint>
#include <vector>

namespace mc::data {

class LmBatcher {
 public:
  // `tokens` must outlive the batcher. ValueError when it yields no window (fewer than
  // batch * (unroll + 1) tokens) or batch/unroll are not positive.
  LmBatcher(const std::vector<int32_t>& tokens, int64_t batch, int64_t unroll);

  int64_t num_windows() const { return windows_; }  // (L - 1) / unroll
  int64_t batch() const { return batch_; }
  int64_t unroll() const { return unroll_; }

  // inputs, targets resized to unroll * batch: (unroll, batch), time-major.
  void window(int64_t i, std::vector<int32_t>& inputs, std::vector<int32_t>& targets) const;

 private:
  const std::vector<int32_t>& tokens_;
  int64_t batch_, unroll_, row_len_, windows_;
};

}  // namespace mc::data
