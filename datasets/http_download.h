// Resumable, checksummed HTTP(S) downloads (libcurl).
#pragma once

#include <string>
#include <string_view>

#include "matcomp/core/error.h"

namespace mc::data {

// The server could not be reached at all (no network, name not resolved, connection refused,
// timed out); callers add what to do instead.
class NetworkError : public IoError {
 public:
  using IoError::IoError;
};

// Fetches url into dest through dest + ".partial": an existing partial file is continued with
// an HTTP Range request (a server that ignores it is handled by starting over), the whole
// file's MD5 must equal expected_md5, and only then is it renamed to dest. On a mismatch the
// partial file is deleted and IoError names the URL and both digests; an interrupted transfer
// keeps the partial file for the next attempt. Progress goes to stderr when show_progress.
void download_file(const std::string& url, const std::string& dest, std::string_view expected_md5,
                   bool show_progress = true);

}  // namespace mc::data
