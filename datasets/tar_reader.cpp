#include "matcomp/datasets/tar_reader.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "matcomp/core/error.h"

namespace mc::data {

namespace {

constexpr size_t kBlock = 512;

std::string field(const char* block, size_t off, size_t len) {
  const char* p = block + off;
  return std::string(p, strnlen(p, len));
}

// Numeric header fields are octal text, or (GNU, for sizes >= 8 GiB) base-256 with the top bit set.
bool parse_number(const char* p, size_t len, uint64_t& out) {
  out = 0;
  if (static_cast<unsigned char>(p[0]) & 0x80) {
    for (size_t i = 1; i < len; ++i) {
      if (out >> 56) return false;
      out = (out << 8) | static_cast<unsigned char>(p[i]);
    }
    return (static_cast<unsigned char>(p[0]) & 0x7f) == 0;
  }
  size_t i = 0;
  while (i < len && p[i] == ' ') ++i;
  bool any = false;
  for (; i < len && p[i] >= '0' && p[i] <= '7'; ++i) {
    if (out >> 60) return false;
    out = out * 8 + static_cast<uint64_t>(p[i] - '0');
    any = true;
  }
  for (; i < len; ++i)
    if (p[i] != ' ' && p[i] != '\0') return false;
  return any;
}

// The header checksum: the byte sum with the checksum field itself counted as spaces.
uint64_t header_sum(const char* block) {
  uint64_t sum = 0;
  for (size_t i = 0; i < kBlock; ++i)
    sum += (i >= 148 && i < 156) ? uint64_t{' '} : static_cast<unsigned char>(block[i]);
  return sum;
}

// "path" out of pax extended-header records ("<len> path=<value>\n"), empty when absent.
std::string pax_path(const std::string& records) {
  size_t pos = 0;
  while (pos < records.size()) {
    const size_t space = records.find(' ', pos);
    if (space == std::string::npos) break;
    const uint64_t len = std::strtoull(records.c_str() + pos, nullptr, 10);
    if (len == 0 || pos + len > records.size() || space + 1 >= pos + len) break;
    const std::string rec = records.substr(space + 1, pos + len - space - 2);  // drop "\n"
    if (rec.rfind("path=", 0) == 0) return rec.substr(5);
    pos += len;
  }
  return {};
}

}  // namespace

TarReader::TarReader(ByteStream& archive) : in_(archive), entry_name_(archive.name()) {}

bool TarReader::read_block(char* block) {
  const size_t got = in_.read(block, kBlock);
  MC_CHECK(got == 0 || got == kBlock, IoError,
           in_.name() << ": tar archive truncated at byte offset " << offset_ + got << " (inside a header)");
  offset_ += got;
  return got == kBlock;
}

void TarReader::skip(uint64_t n) {
  char buf[1 << 14];
  while (n > 0) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(n, sizeof buf));
    const size_t got = in_.read(buf, want);
    offset_ += got;
    MC_CHECK(got == want, IoError, in_.name() << ": tar archive truncated at byte offset " << offset_);
    n -= got;
  }
}

bool TarReader::next(TarEntry& entry) {
  skip(remaining_ + padding_);
  remaining_ = padding_ = 0;
  std::string long_name;  // from a preceding GNU 'L' or pax 'x' record
  char block[kBlock];
  for (;;) {
    const uint64_t header_at = offset_;
    // A missing end-of-archive marker is tolerated (some writers omit it); a cut header is not.
    if (!read_block(block)) return false;
    if (std::all_of(block, block + kBlock, [](char c) { return c == 0; })) return false;
    uint64_t stored_sum = 0, size = 0;
    MC_CHECK(parse_number(block + 148, 8, stored_sum) && stored_sum == header_sum(block), IoError,
             in_.name() << ": bad tar header checksum at byte offset " << header_at
                        << " (not a tar archive, or a corrupted one)");
    MC_CHECK(parse_number(block + 124, 12, size), IoError,
             in_.name() << ": bad size field in the tar header at byte offset " << header_at);
    const char type = block[156];
    const uint64_t pad = (kBlock - size % kBlock) % kBlock;
    if (type == 'L' || type == 'x') {
      // Metadata for the next header; names are short, so cap what we hold in memory.
      MC_CHECK(size <= (1u << 20), IoError,
               in_.name() << ": implausible tar metadata record of " << size << " bytes at byte offset " << header_at);
      std::string data(static_cast<size_t>(size), '\0');
      const size_t got = in_.read(data.data(), data.size());
      offset_ += got;
      MC_CHECK(got == data.size(), IoError, in_.name() << ": tar archive truncated at byte offset " << offset_);
      skip(pad);
      long_name = type == 'L' ? std::string(data.c_str()) : pax_path(data);
      continue;
    }
    if (type != '0' && type != '\0' && type != '7') {  // directories, links, devices, 'g'...
      skip(size + pad);
      long_name.clear();
      continue;
    }
    std::string path = field(block, 0, 100);
    if (std::memcmp(block + 257, "ustar", 5) == 0) {
      const std::string prefix = field(block, 345, 155);
      if (!prefix.empty()) path = prefix + "/" + path;
    }
    if (!long_name.empty()) path = long_name;
    entry.path = path;
    entry.size = size;
    remaining_ = size;
    padding_ = pad;
    entry_name_ = in_.name() + ":" + path;
    return true;
  }
}

size_t TarReader::read(void* dst, size_t n) {
  const size_t want = static_cast<size_t>(std::min<uint64_t>(n, remaining_));
  const size_t got = want > 0 ? in_.read(dst, want) : 0;
  offset_ += got;
  remaining_ -= got;
  MC_CHECK(got == want, IoError,
           entry_name_ << ": tar archive truncated at byte offset " << offset_ << " (inside this member)");
  return got;
}

}  // namespace mc::data
