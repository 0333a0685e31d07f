// TarReader: walks a ustar/GNU tar archive from a ByteStream (typically a GzipStream over
// cifar-10-binary.tar.gz), one regular file at a time, without seeking or unpacking to disk.
#pragma once

#include <cstdint>
#include <string>

#include "matcomp/datasets/byte_stream.h"

namespace mc::data {

struct TarEntry {
  std::string path;  // as stored: "cifar-10-batches-bin/data_batch_1.bin"
  uint64_t size = 0;
};

class TarReader : public ByteStream {
 public:
  explicit TarReader(ByteStream& archive);

  // Moves to the next regular file (skipping what is left of the current one, directories,
  // links and pax/GNU metadata). False at the end of the archive. IoError naming the archive
  // and the byte offset for a bad header checksum or a truncated archive.
  bool next(TarEntry& entry);

  // Reads the current entry's data; fewer than n bytes only at the entry's end.
  size_t read(void* dst, size_t n) override;
  // "archive.tar.gz:cifar-10-batches-bin/data_batch_1.bin" once an entry is current.
  const std::string& name() const override { return entry_name_; }

 private:
  void skip(uint64_t n);
  bool read_block(char* block);  // false at a clean end (no bytes at all)

  ByteStream& in_;
  uint64_t offset_ = 0;     // archive bytes consumed so far
  uint64_t remaining_ = 0;  // data bytes left in the current entry
  uint64_t padding_ = 0;    // zero bytes after it, up to the next 512-byte boundary
  std::string entry_name_;
};

}  // namespace mc::data
