// .npy headers whose shapes cannot be real: refused naming the file, before any allocation.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "matcomp/core/atomic_file.h"
#include "matcomp/core/error.h"
#include "matcomp/core/npy.h"
#include "matcomp/core/tensor.h"

using namespace mc;

namespace {

std::string npy_with_shape(const std::string& shape, size_t data_bytes) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  return out + header + std::string(data_bytes, '\0');
}

std::string error_of(const std::string& path) {
  try {
    read_npy_array(path);
  } catch (const IoError& e) {
    return e.what();
  }
  return "(no IoError)";
}

}  // namespace

TEST(NpyShapes, ElementCountOverflowIsAClearError) {
  const std::string path = (std::filesystem::path(::testing::TempDir()) / "matcomp_overflow.npy").string();
  for (const std::string shape : {"(4611686018427387904, 4)", "(4294967296, 4294967296)", "(2147483648, 2147483648, 2)"}) {
    write_file_atomically(path, npy_with_shape(shape, 64));
    const std::string err = error_of(path);
    EXPECT_NE(err.find(path), std::string::npos) << shape << ": " << err;
    EXPECT_NE(err.find("more bytes than any file can hold"), std::string::npos) << shape << ": " << err;
  }
  // A large but representable shape still gets the byte-count message.
  write_file_atomically(path, npy_with_shape("(1000000, 4)", 64));
  EXPECT_NE(error_of(path).find("data holds 64 bytes, shape [1000000, 4] of <f4 needs 16000000"), std::string::npos)
      << error_of(path);
  // Zero extents hold no bytes whatever the others are.
  write_file_atomically(path, npy_with_shape("(0, 4611686018427387904)", 0));
  EXPECT_EQ(error_of(path), "(no IoError)");
}

TEST(NpyShapes, NumelOverflowIsAShapeError) {
  EXPECT_THROW(numel_of({int64_t{1} << 62, 4}), ShapeError);
  EXPECT_EQ(numel_of({int64_t{1} << 31, int64_t{1} << 31}), int64_t{1} << 62);
}
