#include "matcomp/datasets/cifar10.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>

#include "matcomp/core/crc32_zlib.h"
#include "matcomp/core/error.h"
#include "matcomp/datasets/byte_stream.h"
#include "matcomp/datasets/data_file.h"
#include "matcomp/datasets/tar_reader.h"

namespace mc::data {

namespace fs = std::filesystem;

namespace {

constexpr const char* kArchiveName = "cifar-10-binary.tar.gz";
constexpr const char* kArchiveFolder = "cifar-10-batches-bin";

// What a batch file held: its record count and the CRC-32 of its (uncompressed) bytes.
struct BatchFile {
  std::string name, path;
  int64_t records = 0;
  uint32_t crc32 = 0;
};

// Appends the records of one batch file; offsets in errors count decompressed bytes. One
// record per read: the streams buffer underneath, and no large scratch buffer is needed.
BatchFile read_records(ByteStream& in, Cifar10Split& out) {
  uint8_t rec[kCifarRecordBytes];
  uint64_t offset = 0;
  BatchFile file;
  file.path = in.name();
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
    file.crc32 = crc32_zlib(rec, sizeof rec, file.crc32);
    offset += got;
  }
  MC_CHECK(offset > 0, IoError, in.name() << ": empty file (no CIFAR-10 records)");
  file.records = static_cast<int64_t>(offset / kCifarRecordBytes);
  return file;
}

// The checks `matcomp-data verify` would fail, on the files of one part as read: record
// counts, duplicated files, files that hold another official file, altered files beside
// official ones.
void check_batch_files(const std::vector<BatchFile>& files, int64_t records_per_file) {
  for (const BatchFile& f : files) {
    const int64_t expected = records_per_file > 0 ? records_per_file : files.front().records;
    MC_CHECK(f.records == expected, IoError,
             f.path << ": " << f.records << " records, expected " << expected
                    << (records_per_file > 0 ? " (every CIFAR-10 batch file holds 10000 records of 3073 bytes)"
                                             : " (as many as " + files.front().path + " holds)")
                    << ": a cut or padded file; `matcomp-data verify` checks every file");
    const uint64_t bytes = static_cast<uint64_t>(f.records) * kCifarRecordBytes;
    check_not_another_known_file("cifar10", f.name, f.path, bytes, f.crc32);
    for (const BatchFile& g : files)
      MC_CHECK(&g == &f || g.crc32 != f.crc32 || g.records != f.records, IoError,
               f.path << " and " << g.path << " have identical contents (a duplicated batch file)");
  }
  const auto official = std::find_if(files.begin(), files.end(), [](const BatchFile& f) {
    return is_official_copy(f.name, static_cast<uint64_t>(f.records) * kCifarRecordBytes, f.crc32);
  });
  if (official == files.end()) return;
  for (const BatchFile& f : files)
    MC_CHECK(is_official_copy(f.name, static_cast<uint64_t>(f.records) * kCifarRecordBytes, f.crc32), IoError,
             f.path << ": not the official " << f.name << " (its CRC-32 is " << crc32_hex(f.crc32) << ") while "
                    << official->path << " is the official file: an altered or replaced file; "
                    << "`matcomp-data verify` checks every file");
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
Cifar10Split read_archive(ByteStream& archive, Cifar10Part part, int64_t records_per_file) {
  const std::vector<std::string> wanted = cifar10_files(part);
  std::map<std::string, Cifar10Split> found;
  std::map<std::string, BatchFile> summaries;
  TarReader tar(archive);
  TarEntry entry;
  while (tar.next(entry)) {
    const std::string base = fs::path(entry.path).filename().string();
    for (const std::string& w : wanted) {
      if (base == w && !found.count(w)) {
        BatchFile f = read_records(tar, found[w]);
        f.name = w;
        f.path = archive.name() + ":" + entry.path;
        summaries[w] = f;
      }
    }
  }
  Cifar10Split out;
  std::vector<BatchFile> files;
  for (const std::string& w : wanted) {
    auto it = found.find(w);
    MC_CHECK(it != found.end(), IoError, archive.name() << ": archive has no member named " << w);
    append(out, std::move(it->second));
    files.push_back(summaries[w]);
  }
  check_batch_files(files, records_per_file);
  return out;
}

// First existing variant of a batch file inside dir, or ""; a plain and a gzipped copy side
// by side must agree.
std::string find_batch_file(const fs::path& dir, const std::string& name) {
  for (const fs::path& folder : {dir, dir / kArchiveFolder}) {
    const std::string found = find_plain_or_gzip(folder, name);
    if (!found.empty()) return found;
  }
  return {};
}

}  // namespace

std::vector<std::string> cifar10_files(Cifar10Part part) {
  if (part == Cifar10Part::Test) return {"test_batch.bin"};
  return {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"};
}

Cifar10Split load_cifar10(const std::string& dir, Cifar10Part part, int64_t records_per_file) {
  MC_CHECK(records_per_file >= 0, ValueError, "load_cifar10: records_per_file must not be negative, got " << records_per_file);
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
    return read_archive(*in, part, records_per_file);
  }
  Cifar10Split out;
  out.pixels.reserve(names.size() * 10000 * kCifarImageBytes);
  out.labels.reserve(names.size() * 10000);
  std::vector<BatchFile> files;
  for (size_t i = 0; i < names.size(); ++i) {
    MC_CHECK(!paths[i].empty(), IoError,
             "CIFAR-10 in " << dir << " is incomplete: " << names[i] << "[.gz] not found (other batch files are there)");
    auto in = open_input(paths[i]);
    files.push_back(read_records(*in, out));
    files.back().name = names[i];
    files.back().path = paths[i];
  }
  check_batch_files(files, records_per_file);
  return out;
}

void parse_cifar10(std::string_view bytes, const std::string& name, Cifar10Split& out) {
  auto in = open_memory(bytes, name);
  read_records(*in, out);
}

Cifar10Split parse_cifar10_archive(std::string_view bytes, const std::string& name, Cifar10Part part) {
  auto in = open_memory(bytes, name);
  return read_archive(*in, part, 0);
}

}  // namespace mc::data
