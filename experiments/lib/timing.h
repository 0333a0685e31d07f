// Wall-clock timing for the experiment binaries' own measurements (inference latency).
#pragma once

#include <functional>

namespace mc {

// Runs `work` once to warm up, then `repeats` times; the median in milliseconds.
double median_milliseconds(int repeats, const std::function<void()>& work);

}  // namespace mc
