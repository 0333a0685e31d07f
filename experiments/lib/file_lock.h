// Advisory locks (flock) on files in a sweep folder, so processes sharing a sweep (`--branch K
// --of N` started together, or the same command twice) never train the same prefix or branch
// twice. The kernel drops a lock when its process dies (kill -9 included): a lock file left
// behind is harmless, only a live holder blocks.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace mc {

class FileLock {
 public:
  // Takes the lock if it is free; nullopt if another process holds it.
  static std::optional<FileLock> try_lock(const std::string& path);
  // Takes the lock, waiting as long as another process holds it; `on_wait` is called once
  // before waiting (to say so).
  static FileLock lock(const std::string& path, const std::function<void()>& on_wait = {});

  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// Removes files named "<name>.tmp.<pid>" (the atomic writer's temporaries) under `dir` whose
// process is no longer alive on this machine; returns the paths removed.
std::vector<std::string> remove_orphan_temp_files(const std::string& dir);

}  // namespace mc
