#include "matcomp/datasets/ptb.h"

#include <filesystem>
#include <unordered_map>

#include "matcomp/core/crc32_zlib.h"
#include "matcomp/core/error.h"
#include "matcomp/datasets/byte_stream.h"
#include "matcomp/datasets/data_file.h"
#include "matcomp/datasets/known_files.h"

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

// The text of dir/file[.gz]; IoError when it holds another official PTB file (valid and test
// swapped, train copied over one of them).
NamedText read_text(const std::string& dir, const std::string& file) {
  const std::string path = find_plain_or_gzip(dir, file);
  if (!path.empty()) {
    auto in = open_input(path);
    NamedText t{path, read_all(*in)};
    check_not_another_known_file("ptb", file, path, t.text.size(), crc32_zlib(t.text));
    return t;
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
  // Beside an official training text, valid and test must be the official ones too: a cut or
  // altered evaluation file would change every reported perplexity silently.
  if (is_official_copy("ptb.train.txt", train.text.size(), crc32_zlib(train.text)))
    for (const NamedText* t : {&valid, &test}) {
      const std::string name = std::filesystem::path(t->path).filename().string();
      const std::string official = name.size() > 3 && name.ends_with(".gz") ? name.substr(0, name.size() - 3) : name;
      MC_CHECK(is_official_copy(official, t->text.size(), crc32_zlib(t->text)), IoError,
               t->path << ": not the official " << official << " (" << t->text.size() << " bytes, CRC-32 "
                       << crc32_hex(crc32_zlib(t->text)) << "; the official file has "
                       << find_known_file(official)->bytes << " bytes) while " << train.path
                       << " is the official training text: a cut or altered file; `matcomp-data verify` checks it");
    }
  return c;
}

}  // namespace mc::data
