// The real CIFAR-10 and PTB data for the end-to-end tests: only $MATCOMP_DATA, no guessed
// paths; a test without it skips, saying what to set.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace matcomp_test {

inline std::string data_dir() {
  const char* env = std::getenv("MATCOMP_DATA");
  if (!env || !*env) return "";
  const std::string dir = env;
  return std::filesystem::exists(dir + "/cifar10") && std::filesystem::exists(dir + "/ptb") ? dir : "";
}

}  // namespace matcomp_test

#define REQUIRE_DATA()                                  \
  if (matcomp_test::data_dir().empty()) GTEST_SKIP() << \
      "real data not found: set MATCOMP_DATA to a folder with cifar10/ and ptb/"
