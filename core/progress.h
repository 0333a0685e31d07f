// Progress on a terminal: "label  step/total  rate/s  ETA", redrawn in place on a TTY and
// printed as plain lines (every few seconds) when stderr is a file or pipe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace mc {

class Progress {
 public:
  Progress(std::string label, int64_t total, std::string unit = "steps");
  // Call after each unit of work; extra is appended (e.g. "loss 2.31").
  void update(int64_t done, const std::string& extra = "");
  void finish(const std::string& extra = "");
  double rate() const;  // units per second since start
  double elapsed_seconds() const;

 private:
  std::string label_, unit_;
  int64_t total_;
  int64_t done_ = 0;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_print_;
};

std::string format_duration(double seconds);  // "1h02m", "3m05s", "12s"

}  // namespace mc
