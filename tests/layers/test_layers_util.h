// Helpers shared by the layer tests.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
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

}  // namespace mc::testing
