#include "matcomp/datasets/verify.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>

#include "matcomp/core/error.h"
#include "matcomp/datasets/byte_stream.h"
#include "matcomp/datasets/tar_reader.h"

namespace mc::data {

namespace fs = std::filesystem;

const char* to_string(FileCheck::Status status) {
  switch (status) {
    case FileCheck::Status::Ok: return "ok";
    case FileCheck::Status::Missing: return "missing";
    case FileCheck::Status::Mismatch: return "MISMATCH";
    case FileCheck::Status::Unreadable: return "UNREADABLE";
  }
  return "?";
}

std::string mismatch_detail(const KnownFile& expected, const Digests& got) {
  std::ostringstream s;
  if (got.bytes != expected.bytes) s << got.bytes << " bytes, expected " << expected.bytes << "; ";
  if (got.md5 != expected.md5) s << "MD5 " << got.md5 << ", expected " << expected.md5 << "; ";
  if (got.sha256 != expected.sha256) s << "SHA-256 " << got.sha256 << ", expected " << expected.sha256;
  std::string out = s.str();
  while (!out.empty() && (out.back() == ' ' || out.back() == ';')) out.pop_back();
  return out;
}

std::string locate_known_file(const std::string& data_dir, const std::string& dataset, const std::string& name) {
  const fs::path base = fs::path(data_dir) / dataset;
  std::vector<fs::path> folders = {base};
  if (dataset == "cifar10") folders.push_back(base / "cifar-10-batches-bin");
  for (const fs::path& folder : folders)
    for (const std::string& candidate : {name, name + ".gz"})
      if (fs::is_regular_file(folder / candidate)) return (folder / candidate).string();
  return {};
}

namespace {

void judge(FileCheck& check, const KnownFile& known, const Digests& got) {
  check.detail = mismatch_detail(known, got);
  check.status = check.detail.empty() ? FileCheck::Status::Ok : FileCheck::Status::Mismatch;
}

// Fills in the CIFAR-10 checks still missing from the members of the official archive.
void check_archive_members(const std::string& archive, std::vector<FileCheck>& checks) {
  std::map<std::string, FileCheck*> wanted;
  for (FileCheck& c : checks)
    if (c.dataset == "cifar10" && c.status == FileCheck::Status::Missing) wanted[c.name] = &c;
  if (wanted.empty()) return;
  try {
    auto in = open_input(archive);
    TarReader tar(*in);
    TarEntry entry;
    while (tar.next(entry)) {
      auto it = wanted.find(fs::path(entry.path).filename().string());
      if (it == wanted.end() || it->second->status != FileCheck::Status::Missing) continue;
      it->second->path = archive + ":" + entry.path;
      judge(*it->second, *find_known_file(it->first), digest_stream(tar));
    }
  } catch (const IoError& e) {
    for (auto& [name, c] : wanted) {
      if (c->status != FileCheck::Status::Missing) continue;
      c->path = archive;
      c->status = FileCheck::Status::Unreadable;
      c->detail = e.what();
    }
  }
}

}  // namespace

std::vector<FileCheck> verify_data_dir(const std::string& data_dir, const std::vector<std::string>& only) {
  std::vector<FileCheck> checks;
  for (const KnownFile& known : known_files()) {
    const std::string dataset(known.dataset);
    if (!only.empty() && std::find(only.begin(), only.end(), dataset) == only.end()) continue;
    FileCheck c;
    c.dataset = dataset;
    c.name = std::string(known.name);
    c.path = locate_known_file(data_dir, dataset, c.name);
    if (!c.path.empty()) {
      try {
        auto in = open_input(c.path);
        judge(c, known, digest_stream(*in));
      } catch (const IoError& e) {
        c.status = FileCheck::Status::Unreadable;
        c.detail = e.what();
      }
    }
    checks.push_back(std::move(c));
  }
  const fs::path archive = fs::path(data_dir) / "cifar10" / std::string(kCifar10ArchiveName);
  if (fs::is_regular_file(archive)) check_archive_members(archive.string(), checks);
  return checks;
}

}  // namespace mc::data
