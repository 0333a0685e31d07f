// CIFAR-10 reading: every accepted layout, every kind of bad file, and the real data.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <functional>
#include <tuple>

#include "matcomp/core/error.h"
#include "matcomp/datasets/cifar10.h"
#include "test_support.h"

using namespace mc::data;
using namespace mc::data::testing;

namespace {
// Five small train files (7 records each) and a test file (4 records) with distinct seeds.
struct SmallCifar {
  std::vector<std::string> train;
  std::string test;
  SmallCifar() {
    for (int i = 0; i < 5; ++i) train.push_back(make_cifar_records(7, 100 + i));
    test = make_cifar_records(4, 200);
  }
  std::string train_concat() const {
    std::string s;
    for (const auto& t : train) s += t;
    return s;
  }
  std::vector<std::pair<std::string, std::string>> files() const {
    std::vector<std::pair<std::string, std::string>> f;
    for (int i = 0; i < 5; ++i) f.emplace_back("data_batch_" + std::to_string(i + 1) + ".bin", train[i]);
    f.emplace_back("test_batch.bin", test);
    return f;
  }
};

void expect_matches_records(const Cifar10Split& s, const std::string& records) {
  const int64_t n = static_cast<int64_t>(records.size()) / kCifarRecordBytes;
  ASSERT_EQ(s.size(), n);
  ASSERT_EQ(static_cast<int64_t>(s.pixels.size()), n * kCifarImageBytes);
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_EQ(s.labels[i], static_cast<uint8_t>(records[i * kCifarRecordBytes]));
    ASSERT_EQ(0, std::memcmp(s.image(i), records.data() + i * kCifarRecordBytes + 1, kCifarImageBytes)) << "image " << i;
  }
}

}  // namespace

TEST(Cifar10Read, PlainGzipSubfolderAndArchiveAllAgree) {
  const SmallCifar data;
  TempDir plain("plain"), gz("gz"), sub("sub"), archive("archive");
  std::vector<std::pair<std::string, std::string>> tar_files = {{"cifar-10-batches-bin/", ""}};
  for (const auto& [name, bytes] : data.files()) {
    write_bytes(plain / name, bytes);
    write_bytes(gz / (name + ".gz"), gzip_bytes(bytes));
    write_bytes(sub / ("cifar-10-batches-bin/" + name), bytes);
    tar_files.emplace_back("cifar-10-batches-bin/" + name, bytes);
  }
  tar_files.emplace_back("cifar-10-batches-bin/readme.html", "<html></html>");
  write_bytes(archive / "cifar-10-binary.tar.gz", gzip_bytes(make_tar(tar_files)));

  for (const TempDir* d : {&plain, &gz, &sub, &archive}) {
    SCOPED_TRACE(d->path().string());
    expect_matches_records(load_cifar10(d->path().string(), Cifar10Part::Train, 7), data.train_concat());
    expect_matches_records(load_cifar10(d->path().string(), Cifar10Part::Test, 4), data.test);
  }
}

TEST(Cifar10Read, ParseFromMemoryAppends) {
  const std::string a = make_cifar_records(3, 1), b = make_cifar_records(2, 2);
  Cifar10Split s;
  parse_cifar10(a, "a", s);
  parse_cifar10(gzip_bytes(b), "b.gz", s);
  expect_matches_records(s, a + b);
}

TEST(Cifar10Read, TruncatedFileNamesFileRecordAndOffset) {
  TempDir d("trunc");
  const SmallCifar data;
  for (const auto& [name, bytes] : data.files()) write_bytes(d / name, bytes);
  std::string cut = data.train[2];
  cut.resize(cut.size() - 100);  // the 7th record loses 100 bytes
  write_bytes(d / "data_batch_3.bin", cut);
  const std::string msg = io_error_of([&] { load_cifar10(d.path().string(), Cifar10Part::Train); });
  EXPECT_NE(msg.find("data_batch_3.bin: truncated: record 6 at byte offset 18438 has only 2973 of 3073 bytes"),
            std::string::npos)
      << msg;
}

TEST(Cifar10Read, LabelOutOfRangeNamesFileAndOffset) {
  std::string bytes = make_cifar_records(5, 3);
  bytes[3 * kCifarRecordBytes] = 10;
  Cifar10Split s;
  const std::string msg = io_error_of([&] { parse_cifar10(bytes, "bad_labels.bin", s); });
  EXPECT_NE(msg.find("bad_labels.bin: label byte 10 at byte offset 9219 (record 3) is out of range 0..9"), std::string::npos)
      << msg;
}

TEST(Cifar10Read, BrokenGzipNamesFile) {
  TempDir d("brokengz");
  const SmallCifar data;
  for (const auto& [name, bytes] : data.files()) write_bytes(d / (name + ".gz"), gzip_bytes(bytes));
  std::string gz = gzip_bytes(data.test);
  gz.resize(gz.size() - 20);  // trailer and some data gone
  write_bytes(d / "test_batch.bin.gz", gz);
  const std::string msg = io_error_of([&] { load_cifar10(d.path().string(), Cifar10Part::Test); });
  EXPECT_NE(msg.find("test_batch.bin.gz: gzip stream ends early at compressed byte"), std::string::npos) << msg;
}

TEST(Cifar10Read, EmptyFileIsAnError) {
  TempDir d("empty");
  write_bytes(d / "test_batch.bin", "");
  const std::string msg = io_error_of([&] { load_cifar10(d.path().string(), Cifar10Part::Test); });
  EXPECT_NE(msg.find("test_batch.bin: empty file"), std::string::npos) << msg;
  write_bytes(d / "test_batch.bin.gz", "");  // an empty .gz takes the gzip path: still "empty"
  std::filesystem::remove(d / "test_batch.bin");
  const std::string msg_gz = io_error_of([&] { load_cifar10(d.path().string(), Cifar10Part::Test); });
  EXPECT_NE(msg_gz.find("test_batch.bin.gz: empty file"), std::string::npos) << msg_gz;
}

TEST(Cifar10Read, MissingDataSaysWhatToDo) {
  TempDir d("none");
  const std::string msg = io_error_of([&] { load_cifar10(d.path().string(), Cifar10Part::Train); });
  EXPECT_NE(msg.find("no CIFAR-10 data in"), std::string::npos) << msg;
  EXPECT_NE(msg.find("matcomp-data download"), std::string::npos) << msg;
  write_bytes(d / "data_batch_1.bin", make_cifar_records(2, 1));
  const std::string partial = io_error_of([&] { load_cifar10(d.path().string(), Cifar10Part::Train); });
  EXPECT_NE(partial.find("data_batch_2.bin[.gz] not found"), std::string::npos) << partial;
}

TEST(Cifar10Read, ArchiveWithoutTheMemberNamesIt) {
  const std::string tar = make_tar({{"cifar-10-batches-bin/data_batch_1.bin", make_cifar_records(2, 1)}});
  const std::string msg = io_error_of([&] { parse_cifar10_archive(gzip_bytes(tar), "x.tar.gz", Cifar10Part::Test); });
  EXPECT_NE(msg.find("x.tar.gz: archive has no member named test_batch.bin"), std::string::npos) << msg;
}

// ---- the real data ----

TEST(Cifar10Real, CountsPerSplitAndClass) {
  MC_REQUIRE_REAL_DATA();
  for (auto [part, n, per_class] : {std::tuple{Cifar10Part::Train, 50000, 5000}, std::tuple{Cifar10Part::Test, 10000, 1000}}) {
    const Cifar10Split& s = real_cifar(part);
    ASSERT_EQ(s.size(), n);
    ASSERT_EQ(static_cast<int64_t>(s.pixels.size()), int64_t{n} * kCifarImageBytes);
    std::array<int, 10> counts{};
    for (uint8_t l : s.labels) ++counts[l];
    for (int c = 0; c < 10; ++c) EXPECT_EQ(counts[c], per_class) << "class " << c;
  }
}

TEST(Cifar10Real, FirstAndLastLabelOfEveryFileAndPixelAnchors) {
  MC_REQUIRE_REAL_DATA();
  const Cifar10Split& train = real_cifar(Cifar10Part::Train);
  // (first, last) label of data_batch_1..5, computed once from the data and pinned.
  const int expected[5][2] = {{6, 5}, {1, 5}, {8, 1}, {0, 8}, {1, 1}};
  for (int f = 0; f < 5; ++f) {
    EXPECT_EQ(train.labels[f * 10000], expected[f][0]) << "data_batch_" << f + 1;
    EXPECT_EQ(train.labels[f * 10000 + 9999], expected[f][1]) << "data_batch_" << f + 1;
  }
  const Cifar10Split& test = real_cifar(Cifar10Part::Test);
  EXPECT_EQ(test.labels.front(), 3);
  EXPECT_EQ(test.labels.back(), 7);
  // train[0] is a frog whose red plane starts 59 43 50 and whose blue plane ends 140 84 72.
  const uint8_t* img = train.image(0);
  EXPECT_EQ((std::array<int, 3>{img[0], img[1], img[2]}), (std::array<int, 3>{59, 43, 50}));
  EXPECT_EQ((std::array<int, 3>{img[3069], img[3070], img[3071]}), (std::array<int, 3>{140, 84, 72}));
  const uint8_t* t0 = test.image(0);
  EXPECT_EQ((std::array<int, 3>{t0[0], t0[1], t0[2]}), (std::array<int, 3>{158, 159, 165}));
}

TEST(Cifar10Real, ChannelMeansMatchThePublishedValues) {
  MC_REQUIRE_REAL_DATA();
  const Cifar10Split& train = real_cifar(Cifar10Part::Train);
  const double published[3] = {0.49140, 0.48216, 0.44653};
  for (int c = 0; c < 3; ++c) {
    uint64_t sum = 0;
    for (int64_t i = 0; i < train.size(); ++i) {
      const uint8_t* plane = train.image(i) + c * 1024;
      for (int k = 0; k < 1024; ++k) sum += plane[k];
    }
    EXPECT_NEAR(static_cast<double>(sum) / (train.size() * 1024.0 * 255.0), published[c], 5e-5) << "channel " << c;
  }
}
