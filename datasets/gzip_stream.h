// GzipStream: inflates a gzip stream (one or more members, as `cat a.gz b.gz` makes) from
// another ByteStream, a chunk at a time, so a 30 MB batch never needs a second full copy.
#pragma once

#include <memory>

#include "matcomp/datasets/byte_stream.h"

namespace mc::data {

class GzipStream : public ByteStream {
 public:
  explicit GzipStream(std::unique_ptr<ByteStream> compressed);
  ~GzipStream() override;
  GzipStream(const GzipStream&) = delete;
  GzipStream& operator=(const GzipStream&) = delete;

  // IoError naming the stream and the compressed byte offset when the data is not gzip, is
  // corrupted, or ends before the gzip trailer (a truncated download).
  size_t read(void* dst, size_t n) override;
  const std::string& name() const override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mc::data
