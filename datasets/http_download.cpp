#include "matcomp/datasets/http_download.h"

#include <curl/curl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>

#include "matcomp/core/progress.h"
#include "matcomp/datasets/checksum.h"

namespace mc::data {

namespace fs = std::filesystem;

namespace {

struct Transfer {
  CURL* curl = nullptr;
  std::FILE* file = nullptr;
  std::string partial;
  uint64_t offset = 0;  // bytes already on disk when this request started
  uint64_t written = 0;
  long status = 0;      // HTTP status, read at the first body bytes
  bool write_failed = false;
  bool show_progress = false;
  std::unique_ptr<Progress> progress;
  int64_t last_kib = -1;
  std::string label;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (t.status == 0) {
    curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &t.status);
    if (t.status == 200 && t.offset > 0) {
      // The server ignored the Range header and sends the whole file: start over.
      std::fclose(t.file);
      t.file = std::fopen(t.partial.c_str(), "wb");
      t.offset = 0;
      if (t.file == nullptr) {
        t.write_failed = true;
        return 0;
      }
    }
  }
  if (t.status != 200 && t.status != 206) return 0;  // an error page: abort, reported below
  if (std::fwrite(data, 1, n, t.file) != n) {
    t.write_failed = true;
    return 0;
  }
  t.written += n;
  return n;
}

int on_progress(void* user, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t) {
  auto& t = *static_cast<Transfer*>(user);
  if (!t.show_progress || total <= 0) return 0;
  const int64_t kib_total = static_cast<int64_t>((t.offset + static_cast<uint64_t>(total)) >> 10);
  if (!t.progress) t.progress = std::make_unique<Progress>(t.label, kib_total, "KiB");
  // Progress prints every call that reaches the total; curl keeps calling after the last byte.
  const int64_t kib = static_cast<int64_t>((t.offset + static_cast<uint64_t>(now)) >> 10);
  if (kib != t.last_kib) t.progress->update(kib);
  t.last_kib = kib;
  return 0;
}

bool unreachable(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SSL_CONNECT_ERROR:
      return true;
    default:
      return false;
  }
}

void fsync_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f != nullptr) {
    ::fsync(::fileno(f));
    std::fclose(f);
  }
}

// Checks the finished partial file and renames it into place, or deletes it.
void finish(const std::string& url, const std::string& partial, const std::string& dest, std::string_view expected_md5) {
  const std::string got = md5_of_file(partial);
  if (got != expected_md5) {
    fs::remove(partial);
    MC_CHECK(false, IoError,
             "checksum mismatch for " << url << ": MD5 of the downloaded file is " << got << ", expected "
                                      << expected_md5 << ". The download was deleted; run the command again, and if "
                                      << "it fails the same way the server holds a different file than the published one.");
  }
  fsync_file(partial);
  fs::rename(partial, dest);
}

}  // namespace

void download_file(const std::string& url, const std::string& dest, std::string_view expected_md5, bool show_progress) {
  MC_CHECK(!expected_md5.empty(), ValueError, "download_file: no checksum given for " << url);
  static std::once_flag curl_ready;
  std::call_once(curl_ready, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });

  const fs::path target(dest);
  if (target.has_parent_path()) fs::create_directories(target.parent_path());
  Transfer t;
  t.partial = dest + ".partial";
  t.show_progress = show_progress;
  t.label = target.filename().string();
  std::error_code ec;
  t.offset = fs::exists(t.partial) ? fs::file_size(t.partial, ec) : 0;
  if (ec) t.offset = 0;
  t.file = std::fopen(t.partial.c_str(), t.offset > 0 ? "ab" : "wb");
  MC_CHECK(t.file != nullptr, IoError, "cannot write " << t.partial << ": " << std::strerror(errno));

  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  MC_CHECK(curl != nullptr, IoError, "libcurl: cannot create a handle");
  t.curl = curl.get();
  char error_text[CURL_ERROR_SIZE] = "";
  const std::string range = std::to_string(t.offset) + "-";
  curl_easy_setopt(t.curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(t.curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(t.curl, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM tricks in a threaded program
  curl_easy_setopt(t.curl, CURLOPT_CONNECTTIMEOUT, 30L);
  // A stalled connection (under 1 byte/s for a minute) fails instead of hanging forever.
  curl_easy_setopt(t.curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(t.curl, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(t.curl, CURLOPT_USERAGENT, "matcomp-data/0.1");
  curl_easy_setopt(t.curl, CURLOPT_ERRORBUFFER, error_text);
  curl_easy_setopt(t.curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(t.curl, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(t.curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(t.curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(t.curl, CURLOPT_XFERINFODATA, &t);
  // CURLOPT_RANGE rather than RESUME_FROM: libcurl fails outright on a 200 answer to the
  // latter, while we would rather start over.
  if (t.offset > 0) curl_easy_setopt(t.curl, CURLOPT_RANGE, range.c_str());

  const CURLcode rc = curl_easy_perform(t.curl);
  if (t.status == 0) curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &t.status);
  const bool flushed = t.file != nullptr && std::fflush(t.file) == 0;
  if (t.file != nullptr) std::fclose(t.file);
  if (t.progress) t.progress->finish();

  MC_CHECK(!t.write_failed && (flushed || rc != CURLE_OK), IoError, "cannot write " << t.partial << " (disk full?)");
  const std::string why = error_text[0] ? std::string(error_text) : std::string(curl_easy_strerror(rc));
  std::error_code ignored;
  if (rc != CURLE_OK && fs::file_size(t.partial, ignored) == 0) fs::remove(t.partial, ignored);  // nothing to resume
  if (unreachable(rc)) throw NetworkError("cannot reach " + url + ": " + why);
  if (t.status == 416 && t.offset > 0) {
    // Nothing left to send: the partial file already holds the whole thing (or is garbage).
    finish(url, t.partial, dest, expected_md5);
    return;
  }
  if (t.status != 0 && t.status != 200 && t.status != 206) {
    if (t.offset == 0) fs::remove(t.partial);
    MC_CHECK(false, IoError, "HTTP " << t.status << " for " << url);
  }
  MC_CHECK(rc == CURLE_OK, IoError,
           "download of " << url << " interrupted after " << t.offset + t.written << " bytes: " << why
                          << ". The partial file " << t.partial << " is kept; run the command again to resume.");
  finish(url, t.partial, dest, expected_md5);
}

}  // namespace mc::data
