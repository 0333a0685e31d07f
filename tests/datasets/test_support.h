// Shared helpers for the datasets tests: where the real data is, a cache so the 180 MB of
// CIFAR-10 is read once per test binary, temporary folders, and generators for small files.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "matcomp/datasets/cifar10.h"
#include "matcomp/datasets/ptb.h"

namespace mc::data::testing {

// $MATCOMP_DATA when it holds cifar10/ and ptb/, else "" (the tests that need it skip).
std::string real_data_dir();

// The message of the IoError that fn throws, or "(no IoError)" when it throws none.
std::string io_error_of(const std::function<void()>& fn);

#define MC_REQUIRE_REAL_DATA()                                                                    \
  do {                                                                                            \
    if (::mc::data::testing::real_data_dir().empty())                                             \
      GTEST_SKIP() << "real data not found: set MATCOMP_DATA to a folder with cifar10/ and ptb/"; \
  } while (0)

const Cifar10Split& real_cifar(Cifar10Part part);  // loaded once
const PtbCorpus& real_ptb();                        // loaded once

// A fresh empty folder, removed with everything in it when the object goes.
class TempDir {
 public:
  explicit TempDir(const std::string& tag);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

void write_bytes(const std::string& path, std::string_view bytes);
std::string gzip_bytes(std::string_view bytes, int level = 6);
std::string gunzip_file(const std::string& path);

// n CIFAR records: label i % 10, pixels from the seed.
std::string make_cifar_records(int64_t n, uint64_t seed);

// A ustar archive of (path, contents) files; a path ending in '/' is a directory entry.
std::string make_tar(const std::vector<std::pair<std::string, std::string>>& files);

// A .tar.gz made of gzip members: each (tar path, .gz file) member's gzip stream is used as it
// is, between small gzipped headers; a multi-member gzip file, which any gunzip reads as one.
// Builds a 170 MB archive in a fraction of a second instead of recompressing it.
std::string make_tar_gz_from_gz_files(const std::vector<std::pair<std::string, std::string>>& members);

}  // namespace mc::data::testing
