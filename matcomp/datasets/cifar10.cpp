#include "matcomp/datasets/cifar10.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>

#include "matcomp/core/error.h"
#include "matcomp/datasets/byte_stream.h"
#include "matcomp/datasets/tar_reader.h"

namespace mc::data {

namespace fs = std::filesystem;

namespace {

constexpr const char* kArchiveName = "cifar-10-binary.tar.gz";
constexpr const char* kArchiveFolder = "cifar-10-batches-bin";

// Appends the records of one batch file; offsets in errors count decompressed bytes. One
// record per read: the streams buffer underneath, and no large scratch buffer is needed.
void read_records(ByteStream& in, Cifar10Split& out) {
  uint8_t rec[kCifarRecordBytes];
  uint64_t offset = 0;
  for (;;) {
    const size_t got = in.read(rec, sizeof rec);
    if (got == 0) break;
    const uint64_t index = offset / kCifarRecordBytes;
    MC_CHECK(got == sizeof rec, IoError,
             in.name() << ": truncated: record " << index << " at byte offset " << offset << " has only " << got << " of "
                       << kCifarRecordBytes << " bytes");
    MC_CHECK(rec[0] < kCifarClasses, IoError,
             in.name() << ": label byte " << int{rec[0]} << " at byte offset " << offset << " (record " << index
                       << ") is out of range 0..9 (not a CIFAR-10 batch file?)");
    out.labels.push_back(rec[0]);
    out.pixels.insert(out.pixels.end(), rec + 1, rec + sizeof rec);
    offset += got;
  }
  MC_CHECK(offset > 0, IoError, in.name() << ": empty file (no CIFAR-10 records)");
}

void append(Cifar10Split& dst, Cifar10Split&& src) {
  if (dst.labels.empty()) {
    dst = std::move(src);
    return;
  }
  dst.pixels.insert(dst.pixels.end(), src.pixels.begin(), src.pixels.end());
  dst.labels.insert(dst.labels.end(), src.labels.begin(), src.labels.end());
}

// The batch files of `part` pulled out of an archive, concatenated in the official order.
Cifar10Split read_archive(ByteStream& archive, Cifar10Part part) {
  const std::vector<std::string> wanted = cifar10_files(part);
  std::map<std::string, Cifar10Split> found;
  TarReader tar(archive);
  TarEntry entry;
  while (tar.next(entry)) {
    const std::string base = fs::path(entry.path).filename().string();
    for (const std::string& w : wanted) {
      if (base == w && !found.count(w)) read_records(tar, found[w]);
    }
  }
  Cifar10Split out;
  for (const std::string& w : wanted) {
    auto it = found.find(w);
    MC_CHECK(it != found.end(), IoError, archive.name() << ": archive has no member named " << w);
    append(out, std::move(it->second));
  }
  return out;
}

// First existing variant of a batch file inside dir, or "".
std::string find_batch_file(const fs::path& dir, const std::string& name) {
  for (const fs::path& folder : {dir, dir / kArchiveFolder}) {
    for (const std::string& candidate : {name, name + ".gz"}) {
      const fs::path p = folder / candidate;
      if (fs::is_regular_file(p)) return p.string();
    }
  }
  return {};
}

}  // namespace

std::vector<std::string> cifar10_files(Cifar10Part part) {
  if (part == Cifar10Part::Test) return {"test_batch.bin"};
  return {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"};
}

Cifar10Split load_cifar10(const std::string& dir, Cifar10Part part) {
  const std::vector<std::string> names = cifar10_files(part);
  std::vector<std::string> paths;
  for (const std::string& n : names) paths.push_back(find_batch_file(dir, n));
  const bool any = std::any_of(paths.begin(), paths.end(), [](const std::string& p) { return !p.empty(); });
  if (!any) {
    const fs::path archive = fs::path(dir) / kArchiveName;
    MC_CHECK(fs::is_regular_file(archive), IoError,
             "no CIFAR-10 data in " << dir << ": looked for " << names.front() << "[.gz] (also in " << kArchiveFolder
                                    << "/) and " << kArchiveName
                                    << ". Run `matcomp-data download --to <data dir>` or set MATCOMP_DATA.");
    auto in = open_input(archive.string());
    return read_archive(*in, part);
  }
  Cifar10Split out;
  out.pixels.reserve(names.size() * 10000 * kCifarImageBytes);
  out.labels.reserve(names.size() * 10000);
  for (size_t i = 0; i < names.size(); ++i) {
    MC_CHECK(!paths[i].empty(), IoError,
             "CIFAR-10 in " << dir << " is incomplete: " << names[i] << "[.gz] not found (other batch files are there)");
    auto in = open_input(paths[i]);
    read_records(*in, out);
  }
  return out;
}

void parse_cifar10(std::string_view bytes, const std::string& name, Cifar10Split& out) {
  auto in = open_memory(bytes, name);
  read_records(*in, out);
}

Cifar10Split parse_cifar10_archive(std::string_view bytes, const std::string& name, Cifar10Part part) {
  auto in = open_memory(bytes, name);
  return read_archive(*in, part);
}

}  // namespace mc::data
