// Penn Treebank: tokenization, vocabulary order, clear errors, LM batching, and the real data.
#include <gtest/gtest.h>

#include <functional>

#include "matcomp/core/error.h"
#include "matcomp/datasets/lm_batcher.h"
#include "matcomp/datasets/ptb.h"
#include "test_support.h"

using namespace mc::data;
using namespace mc::data::testing;

namespace {
void write_ptb(const TempDir& d, const std::string& train, const std::string& valid, const std::string& test, bool gz) {
  auto put = [&](const std::string& name, const std::string& text) {
    write_bytes(d / (name + (gz ? ".gz" : "")), gz ? gzip_bytes(text) : text);
  };
  put("ptb.train.txt", train);
  put("ptb.valid.txt", valid);
  put("ptb.test.txt", test);
}

std::vector<std::string> words_of(const PtbCorpus& c, const std::vector<int32_t>& ids) {
  std::vector<std::string> w;
  for (int32_t id : ids) w.push_back(c.vocab.word(id));
  return w;
}

}  // namespace

TEST(Ptb, SplitsOnWhitespaceAndAppendsEosPerLine) {
  TempDir d("tok");
  write_ptb(d, " the cat sat \n the\tdog \n\n a cat", " the cat \n", "dog sat\n", false);
  const PtbCorpus c = load_ptb(d.path().string(), 0);
  EXPECT_EQ(words_of(c, c.train), (std::vector<std::string>{"the", "cat", "sat", "<eos>", "the", "dog", "<eos>", "<eos>",
                                                             "a", "cat", "<eos>"}));
  EXPECT_EQ(words_of(c, c.valid), (std::vector<std::string>{"the", "cat", "<eos>"}));
  EXPECT_EQ(words_of(c, c.test), (std::vector<std::string>{"dog", "sat", "<eos>"}));
}

TEST(Ptb, IdsByDescendingCountThenAlphabetical) {
  const Vocabulary v = build_vocabulary("b a c\nc b\nc\n", "t");
  // counts: <eos> 3, c 3, b 2, a 1; the tie between "<eos>" and "c" goes by byte order.
  ASSERT_EQ(v.size(), 4);
  EXPECT_EQ(v.word(0), "<eos>");
  EXPECT_EQ(v.word(1), "c");
  EXPECT_EQ(v.word(2), "b");
  EXPECT_EQ(v.word(3), "a");
  EXPECT_EQ(v.id("b"), 2);
  EXPECT_EQ(v.id("zebra"), -1);
}

TEST(Ptb, PlainAndGzipGiveTheSameCorpus) {
  TempDir plain("plain"), gz("gz");
  const std::string train = " a b c a \n b a \n", valid = " a b \n", test = " c \n";
  write_ptb(plain, train, valid, test, false);
  write_ptb(gz, train, valid, test, true);
  const PtbCorpus a = load_ptb(plain.path().string(), 0), b = load_ptb(gz.path().string(), 0);
  EXPECT_EQ(a.train, b.train);
  EXPECT_EQ(a.valid, b.valid);
  EXPECT_EQ(a.test, b.test);
  EXPECT_EQ(a.train.size(), 8u);
}

TEST(Ptb, UnknownWordNamesFileLineAndWord) {
  TempDir d("unk");
  write_ptb(d, " a b \n b c \n", " a \n b \n a zebra b \n", " a \n", false);
  const std::string msg = io_error_of([&] { load_ptb(d.path().string(), 0); });
  EXPECT_NE(msg.find("ptb.valid.txt line 3: word 'zebra' is not in the vocabulary"), std::string::npos) << msg;
}

TEST(Ptb, EmptyFileIsAnError) {
  TempDir d("empty");
  write_ptb(d, " a \n", " a \n", "", false);
  const std::string msg = io_error_of([&] { load_ptb(d.path().string(), 0); });
  EXPECT_NE(msg.find("ptb.test.txt: empty file"), std::string::npos) << msg;
}

TEST(Ptb, WrongVocabularySizeAndMissingFileAreErrors) {
  TempDir d("vocab");
  write_ptb(d, " a b \n", " a \n", " b \n", false);
  const std::string msg = io_error_of([&] { load_ptb(d.path().string()); });
  EXPECT_NE(msg.find("3 word types (with <eos>), expected 10000"), std::string::npos) << msg;
  std::filesystem::remove(d / "ptb.valid.txt");
  const std::string missing = io_error_of([&] { load_ptb(d.path().string(), 0); });
  EXPECT_NE(missing.find("PTB file ptb.valid.txt[.gz] not found"), std::string::npos) << missing;
}

TEST(Ptb, BrokenGzipNamesFile) {
  TempDir d("gz");
  write_ptb(d, " a b \n", " a \n", " b \n", true);
  std::string bad = gzip_bytes(" a b a b \n a \n");
  bad[bad.size() - 6] ^= 0x40;  // inside the CRC-32 / length trailer
  write_bytes(d / "ptb.train.txt.gz", bad);
  const std::string msg = io_error_of([&] { load_ptb(d.path().string(), 0); });
  EXPECT_NE(msg.find("ptb.train.txt.gz: broken gzip stream"), std::string::npos) << msg;
}

TEST(LmBatcher, TimeMajorWindowsWithTargetsShiftedByOne) {
  std::vector<int32_t> tokens(103);
  for (int i = 0; i < 103; ++i) tokens[i] = i;  // token value = stream position
  LmBatcher b(tokens, 4, 6);                    // rows of 25: [0,25) [25,50) [50,75) [75,100)
  EXPECT_EQ(b.num_windows(), 4);                // (25 - 1) / 6
  std::vector<int32_t> x, y;
  for (int64_t w = 0; w < b.num_windows(); ++w) {
    b.window(w, x, y);
    ASSERT_EQ(x.size(), 24u);
    for (int t = 0; t < 6; ++t)
      for (int r = 0; r < 4; ++r) {
        EXPECT_EQ(x[t * 4 + r], r * 25 + w * 6 + t);
        EXPECT_EQ(y[t * 4 + r], x[t * 4 + r] + 1);
      }
  }
  EXPECT_THROW(b.window(4, x, y), mc::ValueError);
  EXPECT_THROW(LmBatcher(tokens, 20, 5), mc::ValueError);  // rows of 5 leave no window of 5 + 1
}

TEST(LmBatcher, ConsecutiveWindowsContinueEachRow) {
  std::vector<int32_t> tokens(1000);
  for (int i = 0; i < 1000; ++i) tokens[i] = (i * 37) % 101;
  LmBatcher b(tokens, 7, 9);
  std::vector<int32_t> x0, y0, x1, y1;
  b.window(2, x0, y0);
  b.window(3, x1, y1);
  // The last target of a row in window 2 is that row's first input in window 3.
  for (int r = 0; r < 7; ++r) EXPECT_EQ(y0[8 * 7 + r], x1[r]);
}

// ---- the real data ----

TEST(PtbReal, TokenCountsAndVocabulary) {
  MC_REQUIRE_REAL_DATA();
  const PtbCorpus& c = real_ptb();
  EXPECT_EQ(c.train.size(), 929589u);
  EXPECT_EQ(c.valid.size(), 73760u);
  EXPECT_EQ(c.test.size(), 82430u);
  EXPECT_EQ(c.vocab.size(), 10000);
  EXPECT_EQ(c.vocab.word(0), "the");  // the most frequent word
  const int32_t eos = c.vocab.id("<eos>");
  ASSERT_GE(eos, 0);
  EXPECT_EQ(std::count(c.train.begin(), c.train.end(), eos), 42068);  // one per line
  EXPECT_EQ(c.train.back(), eos);
  // The first sentence of ptb.train.txt.
  EXPECT_EQ(c.vocab.word(c.train[0]), "aer");
}

TEST(PtbReal, StandardBatchingShapes) {
  MC_REQUIRE_REAL_DATA();
  const PtbCorpus& c = real_ptb();
  LmBatcher b(c.train, 20, 35);
  EXPECT_EQ(b.num_windows(), (929589 / 20 - 1) / 35);  // 1327, as in Zaremba et al.'s setup
  std::vector<int32_t> x, y;
  b.window(b.num_windows() - 1, x, y);
  ASSERT_EQ(x.size(), 20u * 35u);
  for (size_t k = 0; k + 20 < x.size(); ++k) EXPECT_EQ(y[k], x[k + 20]);  // next time step, same row
}
