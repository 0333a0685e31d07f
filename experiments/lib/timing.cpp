#include "experiments/lib/timing.h"

#include <algorithm>
#include <chrono>
#include <vector>

namespace mc {

double median_milliseconds(int repeats, const std::function<void()>& work) {
  work();  // first touches of buffers and BLAS's thread start-up stay out of the figure
  std::vector<double> ms;
  for (int i = 0; i < std::max(repeats, 1); ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    work();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace mc
