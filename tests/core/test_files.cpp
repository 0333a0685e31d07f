#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "matcomp/core/atomic_file.h"
#include "matcomp/core/error.h"
#include "matcomp/core/npy.h"

namespace fs = std::filesystem;

namespace {
fs::path temp_dir() {
  fs::path d = fs::temp_directory_path() / ("matcomp_core_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}
}  // namespace

TEST(AtomicFile, WritesAndLeavesNoTemporary) {
  const fs::path d = temp_dir();
  const std::string path = (d / "a.txt").string();
  mc::write_file_atomically(path, "hello");
  EXPECT_EQ(mc::read_file(path), "hello");
  for (auto& e : fs::directory_iterator(d)) EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos);
}

TEST(AtomicFile, FailingWriterKeepsTheOldFile) {
  const fs::path d = temp_dir();
  const std::string path = (d / "b.txt").string();
  mc::write_file_atomically(path, "old");
  EXPECT_THROW(mc::write_file_atomically(path, [](std::ostream& out) {
                 out << "partial";
                 throw mc::IoError("writer failed midway");
               }),
               mc::IoError);
  EXPECT_EQ(mc::read_file(path), "old");
}

TEST(Npy, Float32RoundTrip) {
  const std::string path = (temp_dir() / "m.npy").string();
  mc::Tensor t = mc::Tensor::from({2, 3}, {1, 2, 3, 4, 5, 6.5f});
  mc::write_npy(path, t);
  mc::Tensor r = mc::read_npy(path);
  EXPECT_EQ(r.shape(), t.shape());
  for (int i = 0; i < 6; ++i) EXPECT_EQ(r.data()[i], t.data()[i]);
}

TEST(Npy, TruncatedFileIsAClearError) {
  const std::string path = (temp_dir() / "t.npy").string();
  mc::write_npy(path, mc::Tensor::ones({4, 4}));
  std::string bytes = mc::read_file(path);
  bytes.resize(bytes.size() - 5);
  mc::write_file_atomically(path, bytes);
  try {
    (void)mc::read_npy(path);
    FAIL();
  } catch (const mc::IoError& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
}

TEST(Npy, NotAnNpyFile) {
  const std::string path = (temp_dir() / "x.npy").string();
  mc::write_file_atomically(path, "just some text, no magic");
  EXPECT_THROW((void)mc::read_npy(path), mc::IoError);
  EXPECT_THROW((void)mc::read_npy((temp_dir() / "missing.npy").string()), mc::IoError);
}
