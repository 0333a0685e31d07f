#include "matcomp/datasets/ptb.h"

#include <filesystem>
#include <unordered_map>

#include "matcomp/core/error.h"
#include "matcomp/datasets/byte_stream.h"

namespace mc::data {

namespace {

constexpr std::string_view kEos = "<eos>";

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// Calls fn(word, line) for every token, "<eos>" included, lines counted from 1.
template <typename Fn>
void for_each_token(std::string_view text, const std::string& name, Fn&& fn) {
  MC_CHECK(!text.empty(), IoError, name << ": empty file");
  int64_t line = 1;
  bool line_has_words = false;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '\n') {
      fn(kEos, line);
      ++line;
      line_has_words = false;
      ++i;
    } else if (is_space(c)) {
      ++i;
    } else {
      size_t j = i;
      while (j < text.size() && !is_space(text[j])) ++j;
      fn(text.substr(i, j - i), line);
      line_has_words = true;
      i = j;
    }
  }
  if (line_has_words) fn(kEos, line);
}

struct NamedText {
  std::string path, text;
};

NamedText read_text(const std::string& dir, const std::string& file) {
  namespace fs = std::filesystem;
  for (const std::string& candidate : {file, file + ".gz"}) {
    const fs::path p = fs::path(dir) / candidate;
    if (fs::is_regular_file(p)) {
      auto in = open_input(p.string());
      return {p.string(), read_all(*in)};
    }
  }
  MC_CHECK(false, IoError,
           "PTB file " << file << "[.gz] not found in " << dir
                       << ". Run `matcomp-data download --to <data dir>` or set MATCOMP_DATA.");
  return {};
}

}  // namespace

Vocabulary build_vocabulary(std::string_view text, const std::string& name) {
  std::unordered_map<std::string, int64_t> counts;
  for_each_token(text, name, [&](std::string_view w, int64_t) { ++counts[std::string(w)]; });
  return Vocabulary::from_counts(counts);
}

std::vector<int32_t> encode_text(std::string_view text, const Vocabulary& vocab, const std::string& name) {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 5);
  for_each_token(text, name, [&](std::string_view w, int64_t line) {
    const int32_t id = vocab.id(w);
    MC_CHECK(id >= 0, IoError,
             name << " line " << line << ": word '" << w << "' is not in the vocabulary built from the training text");
    ids.push_back(id);
  });
  return ids;
}

PtbCorpus load_ptb(const std::string& dir, int64_t expected_vocab_size) {
  const NamedText train = read_text(dir, "ptb.train.txt");
  PtbCorpus c;
  c.vocab = build_vocabulary(train.text, train.path);
  MC_CHECK(expected_vocab_size <= 0 || c.vocab.size() == expected_vocab_size, IoError,
           train.path << ": " << c.vocab.size() << " word types (with <eos>), expected " << expected_vocab_size
                      << " (a wrong or altered file? `matcomp-data verify` checks it)");
  c.train = encode_text(train.text, c.vocab, train.path);
  const NamedText valid = read_text(dir, "ptb.valid.txt");
  c.valid = encode_text(valid.text, c.vocab, valid.path);
  const NamedText test = read_text(dir, "ptb.test.txt");
  c.test = encode_text(test.text, c.vocab, test.path);
  return c;
}

}  // namespace mc::data
