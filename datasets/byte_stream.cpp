#include "matcomp/datasets/byte_stream.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "matcomp/core/error.h"
#include "matcomp/datasets/gzip_stream.h"

namespace mc::data {

namespace {

class FileStream : public ByteStream {
 public:
  explicit FileStream(const std::string& path) : name_(path), file_(std::fopen(path.c_str(), "rb")) {
    MC_CHECK(file_ != nullptr, IoError, "cannot open " << path << ": " << std::strerror(errno));
  }
  ~FileStream() override { std::fclose(file_); }
  FileStream(const FileStream&) = delete;
  FileStream& operator=(const FileStream&) = delete;

  size_t read(void* dst, size_t n) override {
    size_t got = 0;
    while (got < n) {
      const size_t r = std::fread(static_cast<char*>(dst) + got, 1, n - got, file_);
      if (r == 0) {
        MC_CHECK(!std::ferror(file_), IoError, "error while reading " << name_ << ": " << std::strerror(errno));
        break;
      }
      got += r;
    }
    return got;
  }
  const std::string& name() const override { return name_; }

  // The first bytes, for format detection; the read position goes back to the start.
  std::string peek(size_t n) {
    std::string head(n, '\0');
    head.resize(read(head.data(), n));
    std::rewind(file_);
    return head;
  }

 private:
  std::string name_;
  std::FILE* file_;
};

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

MemoryStream::MemoryStream(std::string_view bytes, std::string name) : bytes_(bytes), name_(std::move(name)) {}

size_t MemoryStream::read(void* dst, size_t n) {
  const size_t k = std::min(n, bytes_.size() - pos_);
  if (k > 0) std::memcpy(dst, bytes_.data() + pos_, k);
  pos_ += k;
  return k;
}

bool starts_with_gzip_magic(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f && static_cast<unsigned char>(bytes[1]) == 0x8b;
}

std::unique_ptr<ByteStream> open_input(const std::string& path) {
  auto file = std::make_unique<FileStream>(path);
  // The name decides when it says .gz, so a damaged header is reported as broken gzip rather
  // than parsed as raw records; otherwise the magic bytes decide.
  const bool gzip = ends_with(path, ".gz") || starts_with_gzip_magic(file->peek(2));
  if (gzip) return std::make_unique<GzipStream>(std::move(file));
  return file;
}

std::unique_ptr<ByteStream> open_memory(std::string_view bytes, const std::string& name) {
  auto mem = std::make_unique<MemoryStream>(bytes, name);
  if (starts_with_gzip_magic(bytes)) return std::make_unique<GzipStream>(std::move(mem));
  return mem;
}

std::string read_all(ByteStream& in) {
  // Chunks first, one exact allocation at the end: growing one string would copy and
  // page-fault its way through about twice the final size.
  constexpr size_t kChunk = size_t{1} << 20;
  std::vector<std::string> chunks;
  size_t total = 0;
  for (;;) {
    std::string chunk(kChunk, '\0');
    chunk.resize(in.read(chunk.data(), kChunk));
    total += chunk.size();
    const bool last = chunk.size() < kChunk;
    chunks.push_back(std::move(chunk));
    if (last) break;
  }
  if (chunks.size() == 1) return std::move(chunks[0]);
  std::string out;
  out.reserve(total);
  for (const std::string& c : chunks) out += c;
  return out;
}

}  // namespace mc::data
