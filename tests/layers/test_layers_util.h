// Helpers shared by the layer tests.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <string>

#include "matcomp/autograd/gradcheck.h"
#include "matcomp/core/error.h"
#include "matcomp/core/rng.h"

namespace mc::testing {

inline Tensor randn(Shape shape, uint64_t seed, float scale = 1.0f) {
  Rng rng(seed);
  Tensor t = Tensor::empty(std::move(shape));
  rng.fill_normal(t, 0.0f, scale);
  return t;
}

inline void expect_gradients_match(const GradcheckFunction& f, const std::vector<Tensor>& inputs,
                                   const std::vector<bool>& check = {}) {
  const GradcheckResult r = gradcheck(f, inputs, check);
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_GT(r.checked, 0);
  EXPECT_GT(r.nonzero, 0);
}

inline float max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(to_string(a.shape()), to_string(b.shape()));
  float m = 0;
  for (int64_t i = 0; i < a.numel() && i < b.numel(); ++i) m = std::max(m, std::fabs(a.data()[i] - b.data()[i]));
  return m;
}

inline std::string temp_path(const std::string& name) {
  return std::string(::testing::TempDir()) + "/matcomp_layers_" + name;
}

// A python3 that imports numpy ("" when none): the first one on PATH may be a virtual
// environment without it, so Debian's is tried too.
inline std::string python_with_numpy() {
  for (const char* candidate : {"python3", "/usr/bin/python3"})
    if (std::system((std::string(candidate) + " -c 'import numpy, zlib' > /dev/null 2>&1").c_str()) == 0) return candidate;
  return "";
}

// The message of the E that f throws, or `if_none` when it throws none (another exception
// type passes through and fails the test).
template <class E>
std::string error_message(const std::function<void()>& f, const std::string& if_none) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return if_none;
}

}  // namespace mc::testing
