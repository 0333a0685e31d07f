// NumPy .npy files (format 1.0/2.0/3.0, little-endian, C order), so numpy users can read
// what we write and hand us their matrices.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "matcomp/core/tensor.h"

namespace mc {

// An array of any supported dtype as raw little-endian bytes.
struct NpyArray {
  std::string dtype;  // numpy descr: "<f4", "<f8", "<i4", "<i8", "|u1", "<u2", "|i1", "<i2", "<u4"
  Shape shape;
  std::vector<uint8_t> bytes;
};

NpyArray read_npy_array(const std::string& path);
void write_npy_array(const std::string& path, const NpyArray& array);  // atomic

// float32 or float64 file as a float32 tensor (float64 is rounded; non-finite values kept).
Tensor read_npy(const std::string& path);
void write_npy(const std::string& path, const Tensor& t);  // "<f4", atomic

NpyArray to_npy_array(const Tensor& t);
// A float32 array as a tensor (a copy); IoError naming `what` for another dtype or a byte count
// that does not match the shape.
Tensor from_npy_array(const NpyArray& a, const std::string& what = "array");
NpyArray to_npy_array(const std::vector<int32_t>& values, Shape shape);
NpyArray to_npy_array(const std::vector<uint8_t>& values, Shape shape);
size_t npy_item_size(const std::string& dtype);  // throws IoError for unknown dtypes
// Bytes of an array of `shape` with items of `item_size` bytes; IoError naming `what` for a
// negative extent or a product that overflows (a corrupt header, not an allocation to try).
size_t npy_byte_count(const Shape& shape, size_t item_size, const std::string& what);

}  // namespace mc
