#include "matcomp/core/crc32_zlib.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstdio>

namespace mc {

uint32_t crc32_zlib(const void* data, size_t size, uint32_t crc) {
  const auto* p = static_cast<const Bytef*>(data);
  // zlib takes uInt lengths: large buffers go in pieces.
  while (size > 0) {
    const size_t n = std::min<size_t>(size, UINT_MAX);
    crc = static_cast<uint32_t>(::crc32(crc, p, static_cast<uInt>(n)));
    p += n;
    size -= n;
  }
  return crc;
}

std::string crc32_hex(uint32_t crc) {
  char text[9];
  std::snprintf(text, sizeof text, "%08x", crc);
  return text;
}

}  // namespace mc
