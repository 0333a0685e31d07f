// A tiny HTTP/1.1 file server on 127.0.0.1 for the download tests: serves the files of one
// folder, honours "Range: bytes=N-", records what it was asked, and can cut a response short
// to simulate a dropped connection.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mc::data::testing {

class HttpTestServer {
 public:
  explicit HttpTestServer(std::string root);
  ~HttpTestServer();
  HttpTestServer(const HttpTestServer&) = delete;
  HttpTestServer& operator=(const HttpTestServer&) = delete;

  std::string url(const std::string& path) const;  // "http://127.0.0.1:<port>/<path>"
  // The next response body is cut after this many bytes (the connection just closes).
  void cut_next_response_after(uint64_t bytes) { cut_after_ = static_cast<int64_t>(bytes); }
  // "GET /path" lines and Range header values seen so far ("" when none was sent).
  std::vector<std::string> paths() const;
  std::vector<std::string> ranges() const;

 private:
  void serve();
  void handle(int fd);

  std::string root_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> cut_after_{-1};
  mutable std::mutex mu_;
  std::vector<std::string> paths_, ranges_;
  std::thread thread_;
};

}  // namespace mc::data::testing
