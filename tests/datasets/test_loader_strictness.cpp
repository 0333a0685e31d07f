// The loaders refuse what `matcomp-data verify` rejects: batch files cut or padded at a
// record boundary, duplicated batches, official files under another name (PTB valid and test
// swapped, a training batch as the test batch), altered files beside official ones, and a
// plain file beside a .gz copy that differs from it. Each error names the file(s).
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "matcomp/core/error.h"
#include "matcomp/datasets/cifar10.h"
#include "matcomp/datasets/ptb.h"
#include "test_support.h"

using namespace mc::data;
using namespace mc::data::testing;
namespace fs = std::filesystem;

namespace {
void write_train(const TempDir& d, int64_t records) {
  for (int i = 1; i <= 5; ++i)
    write_bytes(d / ("data_batch_" + std::to_string(i) + ".bin"), make_cifar_records(records, 10 + static_cast<uint64_t>(i)));
}

// A folder whose files link to the real ones, as `name -> real name` (the data is not copied).
void link_real(const TempDir& d, const std::string& dataset, const std::string& name, const std::string& real) {
  fs::create_symlink(fs::path(real_data_dir()) / dataset / real, d.path() / name);
}

}  // namespace

TEST(LoaderStrictness, CifarFileCutOrPaddedAtARecordBoundary) {
  TempDir d("records");
  write_bytes(d / "test_batch.bin", make_cifar_records(9999, 3));
  std::string err = io_error_of([&] { load_cifar10(d.path().string(), Cifar10Part::Test); });
  EXPECT_NE(err.find((d / "test_batch.bin") + ": 9999 records, expected 10000"), std::string::npos) << err;
  write_bytes(d / "test_batch.bin", make_cifar_records(10001, 3));
  err = io_error_of([&] { load_cifar10(d.path().string(), Cifar10Part::Test); });
  EXPECT_NE(err.find("10001 records, expected 10000"), std::string::npos) << err;
  write_bytes(d / "test_batch.bin", make_cifar_records(10000, 3));
  EXPECT_EQ(load_cifar10(d.path().string(), Cifar10Part::Test).size(), 10000);

  // Small files (records_per_file 0): one file with an extra record stands out.
  TempDir small("records_small");
  write_train(small, 6);
  write_bytes(small / "data_batch_4.bin", make_cifar_records(7, 14));
  err = io_error_of([&] { load_cifar10(small.path().string(), Cifar10Part::Train, 0); });
  EXPECT_NE(err.find("data_batch_4.bin: 7 records, expected 6"), std::string::npos) << err;
}

TEST(LoaderStrictness, CifarDuplicatedBatchIsRefused) {
  TempDir d("dup");
  write_train(d, 6);
  write_bytes(d / "data_batch_3.bin.gz", gzip_bytes(make_cifar_records(6, 12)));  // batch 2's records
  fs::remove(d / "data_batch_3.bin");
  const std::string err = io_error_of([&] { load_cifar10(d.path().string(), Cifar10Part::Train, 6); });
  EXPECT_NE(err.find("data_batch_2.bin and " + (d / "data_batch_3.bin.gz") + " have identical contents"), std::string::npos)
      << err;
}

TEST(LoaderStrictness, StalePlainFileBesideADifferentGzipIsRefused) {
  TempDir d("stale");
  write_bytes(d / "test_batch.bin", make_cifar_records(5, 1));
  write_bytes(d / "test_batch.bin.gz", gzip_bytes(make_cifar_records(5, 2)));
  std::string err = io_error_of([&] { load_cifar10(d.path().string(), Cifar10Part::Test, 5); });
  EXPECT_NE(err.find((d / "test_batch.bin") + " and " + (d / "test_batch.bin.gz") + " both exist and differ"),
            std::string::npos)
      << err;
  write_bytes(d / "test_batch.bin.gz", gzip_bytes(make_cifar_records(5, 1)));  // the same records: fine
  EXPECT_EQ(load_cifar10(d.path().string(), Cifar10Part::Test, 5).size(), 5);

  TempDir p("stale_ptb");
  for (const char* name : {"ptb.train.txt", "ptb.valid.txt", "ptb.test.txt"}) write_bytes(p / name, "a b\nb a\n");
  write_bytes(p / "ptb.valid.txt.gz", gzip_bytes("b b\n"));
  err = io_error_of([&] { load_ptb(p.path().string(), 0); });
  EXPECT_NE(err.find("ptb.valid.txt and " + (p / "ptb.valid.txt.gz") + " both exist and differ"), std::string::npos) << err;
}

TEST(LoaderStrictness, CifarTrainingBatchAsTestBatchIsRefused) {
  MC_REQUIRE_REAL_DATA();
  TempDir d("swapped_cifar");
  link_real(d, "cifar10", "test_batch.bin.gz", "data_batch_1.bin.gz");
  const std::string err = io_error_of([&] { load_cifar10(d.path().string(), Cifar10Part::Test); });
  EXPECT_NE(err.find("test_batch.bin.gz: holds the contents of the official data_batch_1.bin, not of test_batch.bin"),
            std::string::npos)
      << err;
}

TEST(LoaderStrictness, CifarAlteredBatchBesideOfficialOnesIsRefused) {
  MC_REQUIRE_REAL_DATA();
  TempDir d("altered_cifar");
  for (int i = 1; i <= 4; ++i) {
    const std::string name = "data_batch_" + std::to_string(i) + ".bin.gz";
    link_real(d, "cifar10", name, name);
  }
  write_bytes(d / "data_batch_5.bin", make_cifar_records(10000, 5));
  const std::string err = io_error_of([&] { load_cifar10(d.path().string(), Cifar10Part::Train); });
  EXPECT_NE(err.find("data_batch_5.bin: not the official data_batch_5.bin"), std::string::npos) << err;
}

TEST(LoaderStrictness, PtbValidAndTestSwappedAreRefused) {
  MC_REQUIRE_REAL_DATA();
  TempDir d("swapped_ptb");
  link_real(d, "ptb", "ptb.train.txt.gz", "ptb.train.txt.gz");
  link_real(d, "ptb", "ptb.valid.txt.gz", "ptb.test.txt.gz");
  link_real(d, "ptb", "ptb.test.txt.gz", "ptb.valid.txt.gz");
  const std::string err = io_error_of([&] { load_ptb(d.path().string()); });
  EXPECT_NE(err.find("ptb.valid.txt.gz: holds the contents of the official ptb.test.txt, not of ptb.valid.txt"),
            std::string::npos)
      << err;
}

TEST(LoaderStrictness, PtbCutTestFileBesideOfficialTrainIsRefused) {
  MC_REQUIRE_REAL_DATA();
  TempDir d("cut_ptb");
  link_real(d, "ptb", "ptb.train.txt.gz", "ptb.train.txt.gz");
  link_real(d, "ptb", "ptb.valid.txt.gz", "ptb.valid.txt.gz");
  std::string test = gunzip_file((fs::path(real_data_dir()) / "ptb" / "ptb.test.txt.gz").string());
  test.resize(test.rfind('\n', test.size() / 2) + 1);  // the first half, cut at a line end
  write_bytes(d / "ptb.test.txt", test);
  const std::string err = io_error_of([&] { load_ptb(d.path().string()); });
  EXPECT_NE(err.find("ptb.test.txt: not the official ptb.test.txt"), std::string::npos) << err;
  EXPECT_NE(err.find("the official file has 449945 bytes"), std::string::npos) << err;
}
