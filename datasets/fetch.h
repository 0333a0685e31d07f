// Fetching the datasets from their official sources into <data dir>/cifar10 and <data dir>/ptb
// (what `matcomp-data download` runs).
#pragma once

#include <string>

#include "matcomp/datasets/known_files.h"

namespace mc::data {

struct FetchOptions {
  std::string cifar10_url{kCifar10Url};
  std::string cifar10_md5{kCifar10ArchiveMd5};  // of the archive as downloaded
  std::string ptb_base_url{kPtbBaseUrl};          // + "/ptb.train.txt" etc.
  bool keep_archive = false;                      // keep cifar-10-binary.tar.gz after extracting
  bool show_progress = true;
};

// Downloads the archive (resumably, checked against cifar10_md5), then extracts the six batch
// files, each checked against its published size, MD5 and SHA-256 before it is written
// (atomically) as <data dir>/cifar10/<name>, and batches.meta.txt. Does nothing when the six
// files are already there and correct. NetworkError (with what to do offline) when the server
// cannot be reached; IoError on a checksum mismatch, leaving no file for what failed.
void fetch_cifar10(const std::string& data_dir, const FetchOptions& options = {});

// Downloads ptb.{train,valid,test}.txt into <data dir>/ptb, each checked against its
// published MD5; files already there and correct (plain or .gz) are kept.
void fetch_ptb(const std::string& data_dir, const FetchOptions& options = {});

// What to tell a user without network access.
std::string offline_hint(const std::string& data_dir);

}  // namespace mc::data
