#include <gtest/gtest.h>

#include <cmath>

#include "matcomp/core/blas.h"
#include "matcomp/core/error.h"
#include "matcomp/core/lapack.h"
#include "matcomp/core/parallel.h"
#include "matcomp/core/rng.h"

using mc::Tensor;
using mc::Trans;

namespace {
Tensor random_matrix(int64_t m, int64_t n, uint64_t seed) {
  mc::Rng rng(seed);
  Tensor t = Tensor::empty({m, n});
  rng.fill_normal(t, 0.0f, 1.0f);
  return t;
}

// Naive triple loop in double: the reference the BLAS path is checked against.
double naive_entry(const Tensor& a, Trans ta, const Tensor& b, Trans tb, int64_t i, int64_t j) {
  const int64_t k = ta == Trans::No ? a.size(1) : a.size(0);
  double s = 0;
  for (int64_t p = 0; p < k; ++p) {
    const float x = ta == Trans::No ? a.data()[i * a.size(1) + p] : a.data()[p * a.size(1) + i];
    const float y = tb == Trans::No ? b.data()[p * b.size(1) + j] : b.data()[j * b.size(1) + p];
    s += static_cast<double>(x) * y;
  }
  return s;
}
}  // namespace

TEST(Blas, GemmMatchesNaiveForAllTransposeFlags) {
  for (Trans ta : {Trans::No, Trans::Yes}) {
    for (Trans tb : {Trans::No, Trans::Yes}) {
      const int64_t m = 5, k = 7, n = 3;
      Tensor a = ta == Trans::No ? random_matrix(m, k, 1) : random_matrix(k, m, 1);
      Tensor b = tb == Trans::No ? random_matrix(k, n, 2) : random_matrix(n, k, 2);
      Tensor c = mc::matmul(a, b, ta, tb);
      ASSERT_EQ(c.shape(), (mc::Shape{m, n}));
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) EXPECT_NEAR(c.data()[i * n + j], naive_entry(a, ta, b, tb, i, j), 1e-4);
    }
  }
}

TEST(Blas, GemmAccumulatesWithBeta) {
  Tensor a = random_matrix(4, 4, 3), b = random_matrix(4, 4, 4);
  Tensor c = Tensor::ones({4, 4});
  mc::gemm(a, Trans::No, b, Trans::No, c, 2.0f, 1.0f);
  EXPECT_NEAR(c.data()[5], 1.0 + 2.0 * naive_entry(a, Trans::No, b, Trans::No, 1, 1), 1e-4);
}

TEST(Blas, ShapeMismatchNamesBothShapes) {
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4, 5});
  try {
    (void)mc::matmul(a, b);
    FAIL();
  } catch (const mc::ShapeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("[2, 3]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[4, 5]"), std::string::npos) << msg;
  }
}

TEST(Blas, LinkedOpenBlasIsTheOpenMPBuild) {
  // The pthread build's pool fights OpenMP for the cores; the build must pick the OpenMP one.
  EXPECT_STREQ(mc::blas_threading(), "openmp");
}

TEST(Lapack, SvdReconstructsAndSorts) {
  Tensor a = random_matrix(6, 4, 5);
  mc::Svd s = mc::svd(a);
  ASSERT_EQ(s.u.shape(), (mc::Shape{6, 4}));
  ASSERT_EQ(s.vt.shape(), (mc::Shape{4, 4}));
  for (int i = 0; i + 1 < 4; ++i) EXPECT_GE(s.s.data()[i], s.s.data()[i + 1]);
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t j = 0; j < 4; ++j) {
      double v = 0;
      for (int64_t r = 0; r < 4; ++r) v += s.u.data()[i * 4 + r] * s.s.data()[r] * s.vt.data()[r * 4 + j];
      EXPECT_NEAR(v, a.data()[i * 4 + j], 1e-4);
    }
}

TEST(Lapack, SvdRejectsNonFiniteInput) {
  Tensor a = random_matrix(3, 3, 6);
  a.data()[4] = std::nanf("");
  EXPECT_THROW((void)mc::svd(a), mc::ValueError);
}

TEST(Lapack, LstsqSolvesAnOverdeterminedSystem) {
  Tensor a = random_matrix(10, 3, 7);
  Tensor x = Tensor::from({3, 2}, {1, -2, 0.5f, 3, -1, 0.25f});
  Tensor b = mc::matmul(a, x);
  Tensor got = mc::lstsq(a, b);
  ASSERT_EQ(got.shape(), x.shape());
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(got.data()[i], x.data()[i], 1e-4);
}
