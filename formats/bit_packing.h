// Integer arrays at the fewest bits that hold their values: every value v of an integer npy
// array is stored as (v - min) in `bits` bits, LSB first, values back to back across byte
// boundaries, the last byte padded with zero bits. bits = 0 when all values are equal (then
// only `min` is stored). Used by the model file (docs/EXPORT_FORMAT.md, "packed integers").
#pragma once

#include <cstdint>
#include <string>

#include "matcomp/core/npy.h"

namespace mc {

struct PackedIntegers {
  std::string dtype;  // the array's numpy dtype, restored on unpacking
  Shape shape;
  int bits = 0;       // 0..64
  // The smallest value, as the 64-bit pattern of the dtype's value (two's complement for
  // signed dtypes). A packed entry p stands for the value (min + p) mod 2^64, cut to the dtype.
  uint64_t min_bits = 0;
  std::string bytes;  // ceil(numel * bits / 8) bytes
};

bool is_integer_dtype(const std::string& dtype);
bool is_signed_dtype(const std::string& dtype);

// ValueError for a dtype that is not an integer type or bytes that do not match the shape.
PackedIntegers pack_integers(const NpyArray& array);

// Size in bytes of numel values at `bits` bits; IoError naming `what` when it overflows.
uint64_t packed_byte_count(uint64_t numel, int bits, const std::string& what);

// The inverse of pack_integers. IoError naming `what` when the bytes do not match the shape
// and bit width, or a value does not fit the dtype (a corrupt file).
NpyArray unpack_integers(const PackedIntegers& packed, const std::string& what);

}  // namespace mc
