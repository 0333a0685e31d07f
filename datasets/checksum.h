// MD5 and SHA-256 (OpenSSL) of files and streams, as lowercase hex.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "matcomp/datasets/byte_stream.h"

namespace mc::data {

// Both digests at once, fed incrementally.
class Digester {
 public:
  Digester();
  ~Digester();
  Digester(const Digester&) = delete;
  Digester& operator=(const Digester&) = delete;
  void update(const void* data, size_t n);
  void finish();  // after this, md5/sha256 hold the digests
  std::string md5, sha256;
  uint64_t bytes = 0;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct Digests {
  std::string md5, sha256;
  uint64_t bytes = 0;
};

Digests digest_stream(ByteStream& in);       // of what the stream yields (decompressed for .gz)
Digests digest_bytes(std::string_view bytes);
std::string md5_of_file(const std::string& path);  // raw bytes, no decompression

}  // namespace mc::data
