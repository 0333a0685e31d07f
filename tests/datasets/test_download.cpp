// matcomp-data's download and verify, against a local HTTP server on 127.0.0.1 serving files
// made from the staged data (and from generated data for the failure cases).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <functional>

#include "matcomp/core/atomic_file.h"
#include "matcomp/core/error.h"
#include "matcomp/datasets/checksum.h"
#include "matcomp/datasets/cifar10.h"
#include "matcomp/datasets/data_dir.h"
#include "matcomp/datasets/fetch.h"
#include "matcomp/datasets/http_download.h"
#include "matcomp/datasets/ptb.h"
#include "matcomp/datasets/verify.h"
#include "http_test_server.h"
#include "test_support.h"

using namespace mc::data;
using namespace mc::data::testing;
namespace fs = std::filesystem;

namespace {
FetchOptions quiet() {
  FetchOptions o;
  o.show_progress = false;
  return o;
}

// A served folder with the three real PTB text files (decompressed from the staged copies).
struct PtbServer {
  TempDir root{"ptb_served"};
  HttpTestServer server{root.path().string()};
  PtbServer() {
    for (const char* name : {"ptb.train.txt", "ptb.valid.txt", "ptb.test.txt"})
      write_bytes(root / (std::string("ptb/") + name), gunzip_file(real_data_dir() + "/ptb/" + name + ".gz"));
  }
};

int count_status(const std::vector<FileCheck>& checks, FileCheck::Status s) {
  return static_cast<int>(std::count_if(checks.begin(), checks.end(), [&](const FileCheck& c) { return c.status == s; }));
}

// A small archive shaped like the official one, holding generated batch files.
std::string small_cifar_archive(const std::string& batch1) {
  std::vector<std::pair<std::string, std::string>> files = {{"cifar-10-batches-bin/", ""},
                                                            {"cifar-10-batches-bin/data_batch_1.bin", batch1}};
  return gzip_bytes(make_tar(files));
}

}  // namespace

TEST(Download, FetchesPtbAndTheResultVerifiesAndLoads) {
  MC_REQUIRE_REAL_DATA();
  PtbServer s;
  TempDir data("data");
  FetchOptions o = quiet();
  o.ptb_base_url = s.server.url("ptb");
  fetch_ptb(data.path().string(), o);
  const auto checks = verify_data_dir(data.path().string(), {"ptb"});
  ASSERT_EQ(checks.size(), 3u);
  EXPECT_EQ(count_status(checks, FileCheck::Status::Ok), 3);
  EXPECT_EQ(load_ptb(data / "ptb").valid.size(), 73760u);
  // A second run finds everything in place and downloads nothing.
  const size_t requests = s.server.paths().size();
  fetch_ptb(data.path().string(), o);
  EXPECT_EQ(s.server.paths().size(), requests);
}

TEST(Download, ResumesAPartialFileWithARangeRequest) {
  MC_REQUIRE_REAL_DATA();
  PtbServer s;
  TempDir data("data");
  const std::string full = gunzip_file(s.root / "ptb/ptb.valid.txt");
  const std::string dest = data / "ptb.valid.txt";
  write_bytes(dest + ".partial", full.substr(0, 1000));
  download_file(s.server.url("ptb/ptb.valid.txt"), dest, find_known_file("ptb.valid.txt")->md5, false);
  ASSERT_EQ(s.server.ranges().size(), 1u);
  EXPECT_EQ(s.server.ranges()[0], "1000");
  EXPECT_EQ(gunzip_file(dest), full);
  EXPECT_FALSE(fs::exists(dest + ".partial"));
}

TEST(Download, InterruptedTransferKeepsThePartialFileAndTheNextRunResumes) {
  MC_REQUIRE_REAL_DATA();
  PtbServer s;
  TempDir data("data");
  const std::string dest = data / "ptb.test.txt";
  const std::string url = s.server.url("ptb/ptb.test.txt");
  const std::string_view md5 = find_known_file("ptb.test.txt")->md5;
  s.server.cut_next_response_after(100000);
  const std::string msg = io_error_of([&] { download_file(url, dest, md5, false); });
  EXPECT_NE(msg.find("interrupted after 100000 bytes"), std::string::npos) << msg;
  EXPECT_NE(msg.find("run the command again to resume"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(dest));
  ASSERT_EQ(fs::file_size(dest + ".partial"), 100000u);
  download_file(url, dest, md5, false);
  EXPECT_EQ(s.server.ranges().back(), "100000");
  EXPECT_EQ(digest_stream(*open_input(dest)).md5, md5);
}

TEST(Download, CompletePartialFileIsAcceptedAfterA416) {
  MC_REQUIRE_REAL_DATA();
  PtbServer s;
  TempDir data("data");
  const std::string dest = data / "ptb.valid.txt";
  write_bytes(dest + ".partial", gunzip_file(s.root / "ptb/ptb.valid.txt"));
  download_file(s.server.url("ptb/ptb.valid.txt"), dest, find_known_file("ptb.valid.txt")->md5, false);
  EXPECT_TRUE(fs::exists(dest));
  EXPECT_FALSE(fs::exists(dest + ".partial"));
}

TEST(Download, ChecksumMismatchIsAClearErrorAndLeavesNoFile) {
  TempDir root("served"), data("data");
  HttpTestServer server(root.path().string());
  std::string text = " some text that is not the published file \n";
  write_bytes(root / "ptb.test.txt", text);
  const std::string dest = data / "ptb.test.txt";
  const std::string msg = io_error_of(
      [&] { download_file(server.url("ptb.test.txt"), dest, find_known_file("ptb.test.txt")->md5, false); });
  EXPECT_NE(msg.find("checksum mismatch for " + server.url("ptb.test.txt")), std::string::npos) << msg;
  EXPECT_NE(msg.find(std::string("expected ") + std::string(find_known_file("ptb.test.txt")->md5)), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(dest));
  EXPECT_FALSE(fs::exists(dest + ".partial"));
}

TEST(Download, CorruptedCifarArchiveLeavesNoFinalFile) {
  TempDir root("served"), data("data");
  HttpTestServer server(root.path().string());
  const std::string good = small_cifar_archive(make_cifar_records(3, 1));
  std::string bad = good;
  bad[bad.size() / 2] ^= 0x01;
  write_bytes(root / "cifar.tar.gz", bad);
  FetchOptions o = quiet();
  o.cifar10_url = server.url("cifar.tar.gz");
  o.cifar10_md5 = digest_bytes(good).md5;
  const std::string msg = io_error_of([&] { fetch_cifar10(data.path().string(), o); });
  EXPECT_NE(msg.find("checksum mismatch"), std::string::npos) << msg;
  EXPECT_TRUE(fs::is_empty(data / "cifar10")) << "something was left behind";
}

TEST(Download, ArchiveMemberWithWrongChecksumIsNotWritten) {
  TempDir root("served"), data("data");
  HttpTestServer server(root.path().string());
  const std::string archive = small_cifar_archive(make_cifar_records(3, 1));
  write_bytes(root / "cifar.tar.gz", archive);
  FetchOptions o = quiet();
  o.cifar10_url = server.url("cifar.tar.gz");
  o.cifar10_md5 = digest_bytes(archive).md5;  // the archive passes; its member does not
  const std::string msg = io_error_of([&] { fetch_cifar10(data.path().string(), o); });
  EXPECT_NE(msg.find("member cifar-10-batches-bin/data_batch_1.bin does not match the published checksums (9219 bytes, "
                     "expected 30730000"),
            std::string::npos)
      << msg;
  EXPECT_FALSE(fs::exists(data / "cifar10/data_batch_1.bin"));
}

TEST(Download, UnreachableServerSaysWhatToDoOffline) {
  TempDir data("data");
  FetchOptions o = quiet();
  o.ptb_base_url = "http://127.0.0.1:1";  // nothing listens on port 1
  try {
    fetch_ptb(data.path().string(), o);
    FAIL() << "no error";
  } catch (const NetworkError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("cannot reach http://127.0.0.1:1/ptb.train.txt"), std::string::npos) << msg;
    EXPECT_NE(msg.find("copy them into " + data.path().string() + "/cifar10/"), std::string::npos) << msg;
    EXPECT_NE(msg.find("MATCOMP_DATA"), std::string::npos) << msg;
  }
  EXPECT_FALSE(fs::exists(data / "ptb/ptb.train.txt.partial")) << "an empty partial file was left behind";
}

TEST(Download, MissingUrlIsAnHttpError) {
  TempDir root("served"), data("data");
  HttpTestServer server(root.path().string());
  const std::string msg = io_error_of([&] { download_file(server.url("nope"), data / "x", "00", false); });
  EXPECT_NE(msg.find("HTTP 404 for " + server.url("nope")), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(data / "x.partial"));
}

// The whole CIFAR-10 path on the real bytes: an archive shaped like the official one (rebuilt,
// so its MD5 is passed in), downloaded, extracted, each batch file checked against the
// published per-file checksums, then verified and loaded.
TEST(Download, FetchesCifarArchiveExtractsAndVerifiesEveryBatch) {
  MC_REQUIRE_REAL_DATA();
  TempDir root("served"), data("data");
  std::string md5;
  {
    TempDir gz("meta");
    write_bytes(gz / "batches.meta.txt.gz", gzip_bytes(mc::read_file(real_data_dir() + "/cifar10/batches.meta.txt")));
    std::vector<std::pair<std::string, std::string>> members = {
        {"cifar-10-batches-bin/batches.meta.txt", gz / "batches.meta.txt.gz"}};
    for (const std::string name : {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                                   "data_batch_5.bin", "test_batch.bin"})
      members.emplace_back("cifar-10-batches-bin/" + name, real_data_dir() + "/cifar10/" + name + ".gz");
    const std::string archive = make_tar_gz_from_gz_files(members);
    md5 = digest_bytes(archive).md5;
    write_bytes(root / "cifar-10-binary.tar.gz", archive);
  }
  HttpTestServer server(root.path().string());
  FetchOptions o = quiet();
  o.cifar10_url = server.url("cifar-10-binary.tar.gz");
  o.cifar10_md5 = md5;
  fetch_cifar10(data.path().string(), o);
  EXPECT_FALSE(fs::exists(data / "cifar10/cifar-10-binary.tar.gz"));  // removed after extraction
  EXPECT_TRUE(fs::exists(data / "cifar10/batches.meta.txt"));
  const auto checks = verify_data_dir(data.path().string(), {"cifar10"});
  EXPECT_EQ(count_status(checks, FileCheck::Status::Ok), 6);
  EXPECT_EQ(load_cifar10(data / "cifar10", Cifar10Part::Test).size(), 10000);
}

TEST(Verify, ReportsMissingAndCorruptedFiles) {
  TempDir data("data");
  write_bytes(data / "ptb/ptb.train.txt", "not the real text\n");
  write_bytes(data / "ptb/ptb.valid.txt.gz", "broken");
  const auto checks = verify_data_dir(data.path().string());
  ASSERT_EQ(checks.size(), 9u);
  EXPECT_EQ(count_status(checks, FileCheck::Status::Missing), 7);
  for (const FileCheck& c : checks) {
    if (c.name == "ptb.train.txt") {
      EXPECT_EQ(c.status, FileCheck::Status::Mismatch);
      EXPECT_NE(c.detail.find("18 bytes, expected 5101618"), std::string::npos) << c.detail;
    }
    if (c.name == "ptb.valid.txt") {
      EXPECT_EQ(c.status, FileCheck::Status::Unreadable);
      EXPECT_NE(c.detail.find("broken gzip stream"), std::string::npos) << c.detail;
    }
  }
}

TEST(Verify, StagedRealDataMatchesThePublishedChecksums) {
  MC_REQUIRE_REAL_DATA();
  const auto checks = verify_data_dir(real_data_dir(), {"ptb"});
  EXPECT_EQ(count_status(checks, FileCheck::Status::Ok), 3);
}

TEST(DataDir, FlagThenEnvironmentThenAClearError) {
  TempDir a("a"), b("b");
  const char* old = std::getenv("MATCOMP_DATA");
  const std::string saved = old ? old : "";
  ::setenv("MATCOMP_DATA", b.path().c_str(), 1);
  EXPECT_EQ(resolve_data_dir(a.path().string()), a.path().string());
  EXPECT_EQ(resolve_data_dir(""), b.path().string());
  ::unsetenv("MATCOMP_DATA");
  try {
    resolve_data_dir("");
    ADD_FAILURE() << "no error";
  } catch (const mc::ValueError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("MATCOMP_DATA"), std::string::npos) << msg;
    EXPECT_NE(msg.find("matcomp-data download --to DIR"), std::string::npos) << msg;
  }
  EXPECT_THROW(resolve_data_dir(a / "does-not-exist"), mc::IoError);
  EXPECT_EQ(cifar10_dir("/d"), "/d/cifar10");
  EXPECT_EQ(ptb_dir("/d"), "/d/ptb");
  if (old) ::setenv("MATCOMP_DATA", saved.c_str(), 1);
}
