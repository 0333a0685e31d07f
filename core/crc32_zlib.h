// CRC-32 as zlib computes it (the checksum Python's zlib.crc32 and gzip use), so files we
// write can be verified with the Python standard library alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mc {

uint32_t crc32_zlib(const void* data, size_t size, uint32_t crc = 0);  // continues from `crc`
inline uint32_t crc32_zlib(std::string_view bytes) { return crc32_zlib(bytes.data(), bytes.size()); }
// Eight lowercase hex digits, zero padded: "%08x" % zlib.crc32(data) in Python.
std::string crc32_hex(uint32_t crc);

}  // namespace mc
