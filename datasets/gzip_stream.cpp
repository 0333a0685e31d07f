#include "matcomp/datasets/gzip_stream.h"

#include <zlib.h>

#include <vector>

#include "matcomp/core/error.h"

namespace mc::data {

struct GzipStream::Impl {
  std::unique_ptr<ByteStream> in;
  z_stream z{};
  std::vector<unsigned char> buf = std::vector<unsigned char>(size_t{1} << 16);
  uint64_t consumed_total = 0;  // compressed bytes handed to zlib so far, for error offsets
  bool input_done = false;
  bool in_member = false;  // between a member's header and its trailer
  bool finished = false;

  uint64_t offset() const { return consumed_total - z.avail_in; }
};

GzipStream::GzipStream(std::unique_ptr<ByteStream> compressed) : impl_(std::make_unique<Impl>()) {
  impl_->in = std::move(compressed);
  // 15 + 16: gzip wrapper only (zlib checks the header, the CRC-32 and the length).
  MC_CHECK(inflateInit2(&impl_->z, 15 + 16) == Z_OK, IoError, "zlib: inflateInit2 failed");
}

GzipStream::~GzipStream() { inflateEnd(&impl_->z); }

const std::string& GzipStream::name() const { return impl_->in->name(); }

size_t GzipStream::read(void* dst, size_t n) {
  Impl& s = *impl_;
  s.z.next_out = static_cast<Bytef*>(dst);
  // zlib counts in uInt; larger reads are served in pieces by the loop below.
  size_t left = n;
  while (left > 0 && !s.finished) {
    if (s.z.avail_in == 0 && !s.input_done) {
      const size_t got = s.in->read(s.buf.data(), s.buf.size());
      s.consumed_total += got;
      s.z.next_in = s.buf.data();
      s.z.avail_in = static_cast<uInt>(got);
      if (got < s.buf.size()) s.input_done = true;
    }
    if (s.z.avail_in == 0 && s.input_done) {
      MC_CHECK(!s.in_member, IoError,
               name() << ": gzip stream ends early at compressed byte " << s.consumed_total
                      << " (truncated file or interrupted download)");
      MC_CHECK(s.consumed_total > 0, IoError, name() << ": empty file (expected gzip data)");
      s.finished = true;
      break;
    }
    if (!s.in_member) {
      // A new member starts here (the first one, or one concatenated after the last trailer).
      inflateReset(&s.z);
      s.in_member = true;
    }
    const uInt chunk = static_cast<uInt>(std::min<size_t>(left, 1u << 30));
    s.z.avail_out = chunk;
    const int rc = inflate(&s.z, Z_NO_FLUSH);
    left -= chunk - s.z.avail_out;
    if (rc == Z_STREAM_END) {
      s.in_member = false;
    } else if (rc == Z_BUF_ERROR) {
      continue;  // needs more input: the loop refills or reports the truncation
    } else if (rc != Z_OK) {
      MC_CHECK(false, IoError,
               name() << ": broken gzip stream near compressed byte " << s.offset() << ": "
                      << (s.z.msg ? s.z.msg : "zlib error " + std::to_string(rc)));
    }
  }
  return n - left;
}

}  // namespace mc::data
