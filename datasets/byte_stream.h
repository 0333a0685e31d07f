// ByteStream: a sequential source of bytes (a file, a memory buffer, a gzip stream over either,
// a tar member), so every reader works the same on plain files, .gz files, archives and the
// in-memory buffers a fuzzer hands us.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace mc::data {

class ByteStream {
 public:
  virtual ~ByteStream() = default;
  // Up to n bytes into dst. Returns fewer than n only at the end of the stream (0 = at end),
  // so callers can tell a short record from a slow source.
  virtual size_t read(void* dst, size_t n) = 0;
  // What error messages call this stream ("data_batch_1.bin.gz").
  virtual const std::string& name() const = 0;
};

// A whole buffer; the bytes must outlive the stream.
class MemoryStream : public ByteStream {
 public:
  MemoryStream(std::string_view bytes, std::string name);
  size_t read(void* dst, size_t n) override;
  const std::string& name() const override { return name_; }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
  std::string name_;
};

// Opens a file, gunzipping on the fly when its name ends in ".gz" or it starts with the gzip
// magic bytes. IoError naming the file when it cannot be opened.
std::unique_ptr<ByteStream> open_input(const std::string& path);

// Wraps bytes in memory the same way (gzip detected by its magic bytes).
std::unique_ptr<ByteStream> open_memory(std::string_view bytes, const std::string& name);

// Everything that is left in the stream.
std::string read_all(ByteStream& in);

bool starts_with_gzip_magic(std::string_view bytes);

}  // namespace mc::data
