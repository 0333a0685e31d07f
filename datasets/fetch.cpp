#include "matcomp/datasets/fetch.h"

#include <cstdio>
#include <filesystem>
#include <set>

#include "matcomp/core/atomic_file.h"
#include "matcomp/core/error.h"
#include "matcomp/datasets/byte_stream.h"
#include "matcomp/datasets/checksum.h"
#include "matcomp/datasets/http_download.h"
#include "matcomp/datasets/tar_reader.h"
#include "matcomp/datasets/verify.h"

namespace mc::data {

namespace fs = std::filesystem;

namespace {

bool all_ok(const std::string& data_dir, const std::string& dataset) {
  for (const FileCheck& c : verify_data_dir(data_dir, {dataset}))
    if (c.status != FileCheck::Status::Ok) return false;
  return true;
}

void download_or_explain(const std::string& url, const std::string& dest, std::string_view md5, const std::string& data_dir,
                         bool progress) {
  try {
    download_file(url, dest, md5, progress);
  } catch (const NetworkError& e) {
    throw NetworkError(std::string(e.what()) + "\n" + offline_hint(data_dir));
  }
}

// Extracts and checks the batch files; each is written only once its checksums match.
void extract_cifar10(const std::string& archive, const fs::path& dir, bool verbose) {
  std::set<std::string> missing;
  for (const KnownFile& f : known_files())
    if (f.dataset == "cifar10") missing.insert(std::string(f.name));
  auto in = open_input(archive);
  TarReader tar(*in);
  TarEntry entry;
  while (tar.next(entry)) {
    const std::string base = fs::path(entry.path).filename().string();
    const KnownFile* known = find_known_file(base);
    const bool wanted = (known != nullptr && known->dataset == "cifar10") || base == "batches.meta.txt";
    if (!wanted) continue;
    // Members are read whole (30 MB each) so nothing is written before its checksums pass;
    // a lying size field cannot make us allocate more than a batch file's worth up front.
    std::string bytes(static_cast<size_t>(std::min<uint64_t>(entry.size, uint64_t{64} << 20)), '\0');
    bytes.resize(tar.read(bytes.data(), bytes.size()));
    if (bytes.size() < entry.size) bytes += read_all(tar);
    if (known != nullptr) {
      const std::string detail = mismatch_detail(*known, digest_bytes(bytes));
      MC_CHECK(detail.empty(), IoError,
               archive << ": member " << entry.path << " does not match the published checksums (" << detail
                       << "); it was not written. The archive is not the official CIFAR-10 binary release.");
      missing.erase(base);
    }
    write_file_atomically((dir / base).string(), bytes);
    if (verbose) std::fprintf(stderr, "cifar10: extracted %s (%zu bytes%s)\n", base.c_str(), bytes.size(),
                              known != nullptr ? ", checksums ok" : "");
  }
  if (!missing.empty())
    MC_CHECK(false, IoError, archive << ": archive lacks " << *missing.begin() << " (and " << missing.size() - 1 << " more)");
}

}  // namespace

std::string offline_hint(const std::string& data_dir) {
  return "If this machine has no internet access: fetch " + std::string(kCifar10Url) + " and ptb.train.txt, " +
         "ptb.valid.txt, ptb.test.txt from " + std::string(kPtbBaseUrl) + "/ on a machine that has, copy them into " +
         data_dir + "/cifar10/ (the .tar.gz as it is, or the extracted *.bin files, plain or gzipped) and " + data_dir +
         "/ptb/ (plain or gzipped), then run `matcomp-data verify --data " + data_dir +
         "`. Or point --data / MATCOMP_DATA at a folder that already holds them.";
}

void fetch_cifar10(const std::string& data_dir, const FetchOptions& options) {
  const fs::path dir = fs::path(data_dir) / "cifar10";
  fs::create_directories(dir);
  if (all_ok(data_dir, "cifar10")) {
    if (options.show_progress) std::fprintf(stderr, "cifar10: already present and verified in %s\n", dir.c_str());
    return;
  }
  const std::string archive = (dir / std::string(kCifar10ArchiveName)).string();
  if (!(fs::is_regular_file(archive) && md5_of_file(archive) == options.cifar10_md5))
    download_or_explain(options.cifar10_url, archive, options.cifar10_md5, data_dir, options.show_progress);
  extract_cifar10(archive, dir, options.show_progress);
  if (!options.keep_archive) fs::remove(archive);
}

void fetch_ptb(const std::string& data_dir, const FetchOptions& options) {
  const fs::path dir = fs::path(data_dir) / "ptb";
  fs::create_directories(dir);
  for (const FileCheck& c : verify_data_dir(data_dir, {"ptb"})) {
    if (c.status == FileCheck::Status::Ok) {
      if (options.show_progress) std::fprintf(stderr, "ptb: %s already present and verified\n", c.name.c_str());
      continue;
    }
    const KnownFile* known = find_known_file(c.name);
    download_or_explain(options.ptb_base_url + "/" + c.name, (dir / c.name).string(), known->md5, data_dir,
                        options.show_progress);
    if (options.show_progress) std::fprintf(stderr, "ptb: %s downloaded, MD5 ok\n", c.name.c_str());
  }
}

}  // namespace mc::data
