#include "http_test_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace mc::data::testing {

namespace {
bool send_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t k = ::send(fd, p, n, MSG_NOSIGNAL);
    if (k <= 0) return false;
    p += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}
}  // namespace

HttpTestServer::HttpTestServer(std::string root) : root_(std::move(root)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (listen_fd_ < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;  // any free port
  socklen_t len = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 8) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("cannot listen on 127.0.0.1");
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { serve(); });
}

HttpTestServer::~HttpTestServer() {
  stop_ = true;
  thread_.join();
  ::close(listen_fd_);
}

std::string HttpTestServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/" + path;
}

std::vector<std::string> HttpTestServer::paths() const {
  std::lock_guard lock(mu_);
  return paths_;
}

std::vector<std::string> HttpTestServer::ranges() const {
  std::lock_guard lock(mu_);
  return ranges_;
}

void HttpTestServer::serve() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;  // wake up regularly to notice stop_
    const int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    handle(fd);
    ::close(fd);
  }
}

void HttpTestServer::handle(int fd) {
  std::string request;
  char buf[4096];
  while (request.find("\r\n\r\n") == std::string::npos) {
    const ssize_t k = ::recv(fd, buf, sizeof buf, 0);
    if (k <= 0) return;
    request.append(buf, static_cast<size_t>(k));
  }
  std::istringstream lines(request);
  std::string method, target, line, range;
  lines >> method >> target;
  std::getline(lines, line);
  while (std::getline(lines, line) && line != "\r") {
    if (line.rfind("Range: bytes=", 0) == 0 || line.rfind("range: bytes=", 0) == 0) range = line.substr(13);
  }
  while (!range.empty() && (range.back() == '\r' || range.back() == '-')) range.pop_back();
  {
    std::lock_guard lock(mu_);
    paths_.push_back(target);
    ranges_.push_back(range);
  }
  std::FILE* file = method == "GET" && target.find("..") == std::string::npos ? std::fopen((root_ + target).c_str(), "rb") : nullptr;
  if (file == nullptr) {
    const std::string r = "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found";
    send_all(fd, r.data(), r.size());
    return;
  }
  std::fseek(file, 0, SEEK_END);
  const uint64_t size = static_cast<uint64_t>(std::ftell(file));
  const uint64_t start = range.empty() ? 0 : std::stoull(range);
  std::ostringstream head;
  if (start > 0 && start >= size) {
    head << "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */" << size
         << "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    send_all(fd, head.str().data(), head.str().size());
    std::fclose(file);
    return;
  }
  if (start > 0) {
    head << "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes " << start << "-" << size - 1 << "/" << size << "\r\n";
  } else {
    head << "HTTP/1.1 200 OK\r\n";
  }
  head << "Content-Length: " << size - start << "\r\nConnection: close\r\n\r\n";
  uint64_t left = size - start;
  const int64_t cut = cut_after_.exchange(-1);
  if (cut >= 0) left = std::min<uint64_t>(left, static_cast<uint64_t>(cut));
  std::fseek(file, static_cast<long>(start), SEEK_SET);
  std::vector<char> chunk(1 << 20);
  bool ok = send_all(fd, head.str().data(), head.str().size());
  while (ok && left > 0) {
    const size_t k = std::fread(chunk.data(), 1, std::min<uint64_t>(left, chunk.size()), file);
    if (k == 0) break;
    ok = send_all(fd, chunk.data(), k);
    left -= k;
  }
  std::fclose(file);
}

}  // namespace mc::data::testing
