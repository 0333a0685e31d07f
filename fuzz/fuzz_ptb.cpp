// libFuzzer target: PTB tokenization, vocabulary and encoding, then LM batching. The input is
// cut at its first two NUL bytes into train / valid / test text. Any input must either load
// or raise mc::IoError; crashes, sanitizer reports and broken invariants are bugs.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "matcomp/core/error.h"
#include "matcomp/datasets/lm_batcher.h"
#include "matcomp/datasets/ptb.h"

namespace {
std::string_view take_part(std::string_view& rest) {
  const size_t cut = rest.find('\0');
  const std::string_view part = rest.substr(0, cut);
  rest = cut == std::string_view::npos ? std::string_view() : rest.substr(cut + 1);
  return part;
}

void check_ids(const std::vector<int32_t>& ids, const mc::data::Vocabulary& vocab) {
  for (int32_t id : ids)
    if (id < 0 || id >= vocab.size()) __builtin_trap();
  if (!ids.empty() && vocab.word(ids.back()) != "<eos>") __builtin_trap();  // every line ends in <eos>
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const std::string_view train = take_part(rest), valid = take_part(rest), test = rest;
  try {
    const mc::data::Vocabulary vocab = mc::data::build_vocabulary(train, "train");
    const std::vector<int32_t> ids = mc::data::encode_text(train, vocab, "train");
    check_ids(ids, vocab);
    check_ids(mc::data::encode_text(valid, vocab, "valid"), vocab);
    check_ids(mc::data::encode_text(test, vocab, "test"), vocab);
    if (ids.size() >= 2 * 4) {
      const mc::data::LmBatcher batcher(ids, 2, 3);
      std::vector<int32_t> x, y;
      for (int64_t w = 0; w < batcher.num_windows(); ++w) {
        batcher.window(w, x, y);
        for (size_t k = 0; k + 2 < x.size(); ++k)
          if (y[k] != x[k + 2]) __builtin_trap();  // targets are the next step of the same row
      }
    }
  } catch (const mc::IoError&) {
  }
  return 0;
}
