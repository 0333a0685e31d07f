#include "experiments/lib/file_lock.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "matcomp/core/error.h"

namespace fs = std::filesystem;

namespace mc {

namespace {

int open_lock_file(const std::string& path) {
  const fs::path p(path);
  if (p.has_parent_path()) fs::create_directories(p.parent_path());
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  MC_CHECK(fd >= 0, IoError, "cannot open the lock file " << path << ": " << std::strerror(errno));
  return fd;
}

// flock, retried when a signal interrupts it.
int flock_retrying(int fd, int op) {
  int rc;
  do rc = ::flock(fd, op);
  while (rc != 0 && errno == EINTR);
  return rc;
}

}  // namespace

std::optional<FileLock> FileLock::try_lock(const std::string& path) {
  const int fd = open_lock_file(path);
  if (flock_retrying(fd, LOCK_EX | LOCK_NB) == 0) return FileLock(fd);
  const int err = errno;
  ::close(fd);
  MC_CHECK(err == EWOULDBLOCK, IoError, "cannot lock " << path << ": " << std::strerror(err));
  return std::nullopt;
}

FileLock FileLock::lock(const std::string& path, const std::function<void()>& on_wait) {
  if (auto now = try_lock(path)) return std::move(*now);
  if (on_wait) on_wait();
  const int fd = open_lock_file(path);
  if (flock_retrying(fd, LOCK_EX) != 0) {
    const int err = errno;
    ::close(fd);
    MC_CHECK(false, IoError, "cannot lock " << path << ": " << std::strerror(err));
  }
  return FileLock(fd);
}

FileLock::FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the lock
}

std::vector<std::string> remove_orphan_temp_files(const std::string& dir) {
  std::vector<std::string> removed;
  std::vector<fs::path> orphans;  // removed after the walk, not under the iterator
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return removed;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string name = it->path().filename().string();
    const size_t at = name.rfind(".tmp.");
    if (at == std::string::npos || at + 5 >= name.size()) continue;
    const std::string digits = name.substr(at + 5);
    if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(digits));
    // Alive (or someone else's, EPERM): keep it; its writer will rename or remove it.
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno == EPERM) continue;
    orphans.push_back(it->path());
  }
  for (const fs::path& p : orphans) {
    std::error_code rm;
    if (fs::remove(p, rm)) removed.push_back(p.string());
  }
  return removed;
}

}  // namespace mc
