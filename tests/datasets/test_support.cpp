#include "test_support.h"

#include <unistd.h>
#include <zlib.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "matcomp/core/atomic_file.h"
#include "matcomp/core/error.h"
#include "matcomp/core/rng.h"
#include "matcomp/datasets/byte_stream.h"

namespace fs = std::filesystem;

namespace mc::data::testing {

std::string io_error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const mc::IoError& e) {
    return e.what();
  }
  return "(no IoError)";
}

std::string real_data_dir() {
  static const std::string dir = [] {
    const char* env = std::getenv("MATCOMP_DATA");
    if (env == nullptr || *env == '\0') return std::string();  // only $MATCOMP_DATA: no guessed paths
    const std::string d = env;
    return fs::is_directory(fs::path(d) / "cifar10") && fs::is_directory(fs::path(d) / "ptb") ? d : std::string();
  }();
  return dir;
}

const Cifar10Split& real_cifar(Cifar10Part part) {
  static const Cifar10Split train = load_cifar10(real_data_dir() + "/cifar10", Cifar10Part::Train);
  static const Cifar10Split test = load_cifar10(real_data_dir() + "/cifar10", Cifar10Part::Test);
  return part == Cifar10Part::Train ? train : test;
}

const PtbCorpus& real_ptb() {
  static const PtbCorpus corpus = load_ptb(real_data_dir() + "/ptb");
  return corpus;
}

TempDir::TempDir(const std::string& tag) {
  static int counter = 0;
  path_ = fs::temp_directory_path() /
          ("matcomp_datasets_" + std::to_string(::getpid()) + "_" + tag + "_" + std::to_string(counter++));
  fs::remove_all(path_);
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void write_bytes(const std::string& path, std::string_view bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string gzip_bytes(std::string_view bytes, int level) {
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw std::runtime_error("deflateInit2");
  std::string out(deflateBound(&z, bytes.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("deflate");
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string gunzip_file(const std::string& path) {
  auto in = open_input(path);
  return read_all(*in);
}

std::string make_cifar_records(int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::string out(static_cast<size_t>(n * kCifarRecordBytes), '\0');
  for (int64_t i = 0; i < n; ++i) {
    char* rec = out.data() + i * kCifarRecordBytes;
    rec[0] = static_cast<char>(i % 10);
    for (int64_t k = 1; k < kCifarRecordBytes; ++k) rec[k] = static_cast<char>(rng.below(256));
  }
  return out;
}

std::string tar_header(const std::string& path, uint64_t size, bool dir) {
  char h[512] = {};
  std::snprintf(h, 100, "%s", path.c_str());
  std::snprintf(h + 100, 8, "%07o", dir ? 0755 : 0644);
  std::snprintf(h + 108, 8, "%07o", 0);
  std::snprintf(h + 116, 8, "%07o", 0);
  std::snprintf(h + 124, 12, "%011llo", static_cast<unsigned long long>(size));
  std::snprintf(h + 136, 12, "%011o", 0);
  h[156] = dir ? '5' : '0';
  std::memcpy(h + 257, "ustar", 6);
  std::memcpy(h + 263, "00", 2);
  std::memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(h + 148, 8, "%06o", sum);
  return std::string(h, 512);
}

std::string tar_padding(uint64_t size) { return std::string((512 - size % 512) % 512, '\0'); }

std::string make_tar(const std::vector<std::pair<std::string, std::string>>& files) {
  std::string out;
  size_t total = 1024;
  for (const auto& f : files) total += 1024 + f.second.size();
  out.reserve(total);
  for (const auto& [path, contents] : files) {
    const bool dir = !path.empty() && path.back() == '/';
    out += tar_header(path, dir ? 0 : contents.size(), dir);
    if (!dir) out += contents + tar_padding(contents.size());
  }
  out.append(1024, '\0');
  return out;
}

std::string make_tar_gz_from_gz_files(const std::vector<std::pair<std::string, std::string>>& members) {
  std::string out, pending;  // pending: tar bytes not yet gzipped (headers, padding)
  for (const auto& [path, gz_path] : members) {
    const std::string gz = mc::read_file(gz_path);
    // ISIZE, the last 4 bytes of a gzip member: the uncompressed size (mod 2^32).
    uint32_t size = 0;
    for (int i = 0; i < 4; ++i) size |= uint32_t{static_cast<unsigned char>(gz[gz.size() - 4 + i])} << (8 * i);
    pending += tar_header(path, size, false);
    out += gzip_bytes(pending);
    out += gz;
    pending = tar_padding(size);
  }
  pending.append(1024, '\0');
  return out + gzip_bytes(pending);
}

}  // namespace mc::data::testing
