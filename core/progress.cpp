#include "matcomp/core/progress.h"

#include <unistd.h>

#include <cstdio>

namespace mc {

std::string format_duration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e7) return "?";
  const long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
  else if (s >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%lds", s);
  return buf;
}

Progress::Progress(std::string label, int64_t total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), tty_(::isatty(2) != 0),
      start_(std::chrono::steady_clock::now()), last_print_(start_) {}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

double Progress::rate() const {
  const double t = elapsed_seconds();
  return t > 0 ? static_cast<double>(done_) / t : 0.0;
}

void Progress::update(int64_t done, const std::string& extra) {
  done_ = done;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_print_).count();
  const bool last = done >= total_;
  if (!last && since < (tty_ ? 0.25 : 10.0)) return;
  last_print_ = now;
  const double r = rate();
  const double eta = r > 0 ? static_cast<double>(total_ - done) / r : -1;
  std::fprintf(stderr, "%s%s  %lld/%lld %s  %.1f %s/s  ETA %s  %s%s", tty_ ? "\r\033[K" : "", label_.c_str(),
               static_cast<long long>(done), static_cast<long long>(total_), unit_.c_str(), r, unit_.c_str(),
               format_duration(eta).c_str(), extra.c_str(), tty_ ? "" : "\n");
  std::fflush(stderr);
}

void Progress::finish(const std::string& extra) {
  std::fprintf(stderr, "%s%s  %lld %s in %s (%.1f %s/s)  %s\n", tty_ ? "\r\033[K" : "", label_.c_str(),
               static_cast<long long>(done_), unit_.c_str(), format_duration(elapsed_seconds()).c_str(), rate(),
               unit_.c_str(), extra.c_str());
}

}  // namespace mc
