// Shared by the compression tests: test matrices, a finite-difference gradient check used by
// every method, and a scratch folder.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "matcomp/compression/compressed_matrix.h"
#include "matcomp/core/blas.h"
#include "matcomp/core/rng.h"
#include "matcomp/core/tensor.h"

namespace mc_test {

inline mc::Tensor gaussian(int64_t m, int64_t n, uint64_t seed) {
  mc::Tensor t = mc::Tensor::empty({m, n});
  mc::Rng rng(seed);
  rng.fill_normal(t, 0.0f, 1.0f);
  return t;
}

inline double max_abs_diff(const mc::Tensor& a, const mc::Tensor& b) {
  EXPECT_EQ(a.numel(), b.numel());
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(static_cast<double>(a.data()[i]) - b.data()[i]));
  return m;
}

inline double max_abs(const mc::Tensor& a) {
  double m = 0;
  for (float v : a.span()) m = std::max(m, std::abs(static_cast<double>(v)));
  return m;
}

// <w, f()> accumulated in double.
inline double dot(const mc::Tensor& w, const mc::Tensor& y) {
  double s = 0;
  for (int64_t i = 0; i < w.numel(); ++i) s += static_cast<double>(w.data()[i]) * y.data()[i];
  return s;
}

// Checks multiply == x materialize(), then multiply_backward (factors and dx) and
// materialize_backward against central differences on a random subset of entries of every
// trainable factor. Every method is linear in each single parameter, so central differences
// are exact up to float rounding; the loss is accumulated in double.
inline void check_method(mc::CompressedMatrix& c, uint64_t seed, int samples = 10) {
  const int64_t m = c.rows(), n = c.cols(), batch = 5;
  mc::Rng rng(seed);
  const mc::Tensor x = gaussian(batch, m, seed + 1);
  const mc::Tensor w = gaussian(batch, n, seed + 2);      // loss = <w, x Â>
  const mc::Tensor wd = gaussian(m, n, seed + 3);         // loss = <wd, Â>
  auto loss_mul = [&] {
    mc::Tensor y = mc::Tensor::empty({batch, n});
    c.multiply(x, y);
    return dot(w, y);
  };
  auto loss_mat = [&] { return dot(wd, c.materialize()); };

  // multiply == x * materialize()
  mc::Tensor y = mc::Tensor::empty({batch, n});
  c.multiply(x, y);
  const mc::Tensor ref = mc::matmul(x, c.materialize());
  EXPECT_LT(max_abs_diff(y, ref), 1e-4 * (1.0 + max_abs(ref))) << c.method();

  // multiply_add_bias == multiply + bias on every row
  const mc::Tensor bias = gaussian(1, n, seed + 4);
  mc::Tensor yb = mc::Tensor::empty({batch, n});
  c.multiply_add_bias(x, bias, yb);
  for (int64_t r = 0; r < batch; ++r)
    for (int64_t j = 0; j < n; ++j)
      EXPECT_NEAR(yb.data()[r * n + j], y.data()[r * n + j] + bias.data()[j], 1e-4 * (1.0 + max_abs(ref))) << c.method();

  const std::vector<mc::Factor> factors = c.factors();
  std::vector<mc::Tensor> g_mul, g_mat;
  mc::Tensor dx = mc::Tensor::empty({batch, m});
  c.multiply_backward(x, w, &dx, g_mul);
  c.materialize_backward(wd, g_mat);
  ASSERT_GE(g_mul.size(), factors.size());
  ASSERT_GE(g_mat.size(), factors.size());
  bool any_trainable = false;
  for (size_t f = 0; f < factors.size(); ++f) {
    if (!factors[f].trainable) continue;
    any_trainable = true;
    mc::Tensor p = factors[f].value;
    ASSERT_TRUE(g_mul[f].defined()) << c.method() << " " << factors[f].name;
    ASSERT_TRUE(g_mat[f].defined()) << c.method() << " " << factors[f].name;
    EXPECT_GT(max_abs(g_mul[f]), 1e-6) << c.method() << " " << factors[f].name << ": all-zero gradient";
    EXPECT_GT(max_abs(g_mat[f]), 1e-6) << c.method() << " " << factors[f].name << ": all-zero gradient";
    int nonzero_checked = 0;
    for (int s = 0; s < samples * 4 && nonzero_checked < samples; ++s) {
      const int64_t i = static_cast<int64_t>(rng.below(static_cast<uint64_t>(p.numel())));
      if (g_mat[f].data()[i] == 0.0f && g_mul[f].data()[i] == 0.0f && s < samples * 3) continue;  // prefer live entries
      ++nonzero_checked;
      const float old = p.data()[i];
      const float eps = 0.05f * std::max(1.0f, std::abs(old));
      p.data()[i] = old + eps;
      const double up_mul = loss_mul(), up_mat = loss_mat();
      p.data()[i] = old - eps;
      const double dn_mul = loss_mul(), dn_mat = loss_mat();
      p.data()[i] = old;
      const double fd_mul = (up_mul - dn_mul) / (2.0 * eps), fd_mat = (up_mat - dn_mat) / (2.0 * eps);
      EXPECT_NEAR(g_mul[f].data()[i], fd_mul, 2e-3 * (1.0 + std::abs(fd_mul))) << c.method() << " " << factors[f].name << "[" << i << "]";
      EXPECT_NEAR(g_mat[f].data()[i], fd_mat, 2e-3 * (1.0 + std::abs(fd_mat))) << c.method() << " " << factors[f].name << "[" << i << "]";
    }
    EXPECT_GT(nonzero_checked, 0);
  }
  EXPECT_TRUE(any_trainable) << c.method();

  // dx against differences in x.
  EXPECT_GT(max_abs(dx), 1e-6);
  for (int s = 0; s < samples; ++s) {
    const int64_t i = static_cast<int64_t>(rng.below(static_cast<uint64_t>(x.numel())));
    mc::Tensor xp = x.clone(), xm = x.clone();
    xp.data()[i] += 0.1f;
    xm.data()[i] -= 0.1f;
    mc::Tensor yp = mc::Tensor::empty({batch, n}), ym = mc::Tensor::empty({batch, n});
    c.multiply(xp, yp);
    c.multiply(xm, ym);
    const double fd = (dot(w, yp) - dot(w, ym)) / 0.2;
    EXPECT_NEAR(dx.data()[i], fd, 2e-3 * (1.0 + std::abs(fd))) << c.method() << " dx[" << i << "]";
  }

  // Gradients add into existing buffers.
  std::vector<mc::Tensor> twice = g_mat;
  for (auto& t : twice) t = t.defined() ? t.clone() : t;
  c.materialize_backward(wd, twice);
  for (size_t f = 0; f < factors.size(); ++f)
    if (factors[f].trainable) {
      for (int64_t i = 0; i < std::min<int64_t>(twice[f].numel(), 50); ++i)
        EXPECT_NEAR(twice[f].data()[i], 2.0f * g_mat[f].data()[i], 1e-3 * (1.0 + std::abs(g_mat[f].data()[i])));
    }
}

inline std::filesystem::path scratch_dir(const std::string& name) {
  const auto d = std::filesystem::temp_directory_path() / ("matcomp_compression_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::create_directories(d);
  return d;
}

}  // namespace mc_test
