// Penn Treebank, the Mikolov/Zaremba language-modelling version: ptb.{train,valid,test}.txt,
// plain or .gz. Each line is split on whitespace and "<eos>" is appended (an empty line gives
// just "<eos>"; a last line without '\n' counts as a line if it has words). The vocabulary is
// built from train (10000 types for the real data); valid and test must stay inside it.
//
//   PtbCorpus ptb = load_ptb(data_dir + "/ptb");
//   ptb.train.size() == 929589, ptb.vocab.size() == 10000
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "matcomp/datasets/vocabulary.h"

namespace mc::data {

constexpr int64_t kPtbVocabSize = 10000;

struct PtbCorpus {
  Vocabulary vocab;
  std::vector<int32_t> train, valid, test;  // token ids, "<eos>" after every line
};

// Reads dir/ptb.{train,valid,test}.txt[.gz]. expected_vocab_size > 0 makes a train file with
// another number of types an error (a wrong or altered file); 0 accepts any. IoError naming
// the file (and line and word) for a missing or empty file, a broken gzip stream, or a
// valid/test word outside the training vocabulary.
PtbCorpus load_ptb(const std::string& dir, int64_t expected_vocab_size = kPtbVocabSize);

// The pieces load_ptb is made of, on text in memory (also the fuzzer's entry points);
// `name` is used in error messages.
Vocabulary build_vocabulary(std::string_view text, const std::string& name);
std::vector<int32_t> encode_text(std::string_view text, const Vocabulary& vocab, const std::string& name);

}  // namespace mc::data
