// Inputs the fuzzers found (and hand-made ones of the same kinds), kept in
// fuzz/regressions/<target>/: each must give a clean mc::IoError (or load), never a crash or
// another exception. scripts/fuzz.sh says how to add one.
#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

#include "matcomp/core/error.h"
#include "matcomp/core/npy.h"
#include "matcomp/formats/checkpoint.h"

namespace fs = std::filesystem;

namespace {

std::vector<std::string> regression_inputs(const std::string& target) {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(fs::path(MATCOMP_SOURCE_DIR) / "fuzz" / "regressions" / target))
    if (e.is_regular_file()) files.push_back(e.path().string());
  return files;
}

template <typename Read>
void expect_clean(const std::string& target, Read read) {
  const std::vector<std::string> files = regression_inputs(target);
  ASSERT_FALSE(files.empty()) << "no inputs in fuzz/regressions/" << target;
  for (const std::string& f : files) {
    try {
      read(f);
    } catch (const mc::IoError& e) {
      EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << "the error does not name the file: " << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << f << ": not an IoError: " << e.what();
    }
  }
}

}  // namespace

TEST(FuzzRegressions, Npy) {
  expect_clean("fuzz_npy", [](const std::string& f) { mc::read_npy_array(f); });
}

TEST(FuzzRegressions, Checkpoint) {
  expect_clean("fuzz_checkpoint", [](const std::string& f) { mc::read_checkpoint(f); });
}
