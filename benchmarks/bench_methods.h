// The methods the compressed-model benchmarks run: "dense", then every registered method in
// registration order, so a new method is benchmarked without editing them.
#pragma once

#include <string>
#include <vector>

#include "matcomp/compression/registry.h"

namespace bench {

inline const std::vector<std::string>& dense_and_registered_methods() {
  static const std::vector<std::string> m = [] {
    std::vector<std::string> v{"dense"};
    for (const std::string& name : mc::registered_methods()) v.push_back(name);
    return v;
  }();
  return m;
}

}  // namespace bench
