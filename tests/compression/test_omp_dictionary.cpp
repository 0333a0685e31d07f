#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "matcomp/compression/methods/dictionary.h"
#include "matcomp/compression/linalg/matching_pursuit.h"
#include "matcomp/core/error.h"
#include "helpers.h"

using mc_test::gaussian;

namespace {

mc::Tensor unit_rows(mc::Tensor d) {
  const int64_t k = d.size(0), n = d.size(1);
  for (int64_t j = 0; j < k; ++j) {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += static_cast<double>(d.data()[j * n + i]) * d.data()[j * n + i];
    for (int64_t i = 0; i < n; ++i) d.data()[j * n + i] = static_cast<float>(d.data()[j * n + i] / std::sqrt(s));
  }
  return d;
}

// Textbook OMP in double: correlate the residual with every atom, pick the largest, refit the
// chosen atoms by least squares (normal equations, Gaussian elimination).
std::vector<std::pair<int, double>> reference_omp(const float* x, const mc::Tensor& d, int t) {
  const int64_t k = d.size(0), n = d.size(1);
  std::vector<double> r(x, x + n);
  std::vector<int> chosen;
  std::vector<double> coef;
  for (int step = 0; step < t; ++step) {
    int best = -1;
    double best_abs = -1;
    for (int64_t j = 0; j < k; ++j) {
      if (std::find(chosen.begin(), chosen.end(), j) != chosen.end()) continue;
      double c = 0;
      for (int64_t i = 0; i < n; ++i) c += d.data()[j * n + i] * r[static_cast<size_t>(i)];
      if (std::abs(c) > best_abs) {
        best_abs = std::abs(c);
        best = static_cast<int>(j);
      }
    }
    chosen.push_back(best);
    const size_t s = chosen.size();
    std::vector<double> g(s * (s + 1), 0.0);  // [G | b]
    for (size_t p = 0; p < s; ++p) {
      for (size_t q = 0; q < s; ++q)
        for (int64_t i = 0; i < n; ++i) g[p * (s + 1) + q] += static_cast<double>(d.data()[chosen[p] * n + i]) * d.data()[chosen[q] * n + i];
      for (int64_t i = 0; i < n; ++i) g[p * (s + 1) + s] += static_cast<double>(d.data()[chosen[p] * n + i]) * x[i];
    }
    for (size_t p = 0; p < s; ++p)
      for (size_t q = p + 1; q < s; ++q) {
        const double f = g[q * (s + 1) + p] / g[p * (s + 1) + p];
        for (size_t c = p; c <= s; ++c) g[q * (s + 1) + c] -= f * g[p * (s + 1) + c];
      }
    coef.assign(s, 0.0);
    for (size_t p = s; p-- > 0;) {
      double acc = g[p * (s + 1) + s];
      for (size_t q = p + 1; q < s; ++q) acc -= g[p * (s + 1) + q] * coef[q];
      coef[p] = acc / g[p * (s + 1) + p];
    }
    for (int64_t i = 0; i < n; ++i) {
      double v = x[i];
      for (size_t p = 0; p < s; ++p) v -= coef[p] * d.data()[chosen[p] * n + i];
      r[static_cast<size_t>(i)] = v;
    }
  }
  std::vector<std::pair<int, double>> out;
  for (size_t p = 0; p < chosen.size(); ++p) out.emplace_back(chosen[p], coef[p]);
  return out;
}

}  // namespace

TEST(Omp, RecoversTheExactSupportOfSparseSignals) {
  const int64_t k = 120, n = 64, signals = 200, t = 4;
  const mc::Tensor d = unit_rows(gaussian(k, n, 1));
  mc::Rng rng(2);
  mc::Tensor x = mc::Tensor::zeros({signals, n});
  std::vector<std::set<int>> truth(signals);
  for (int64_t s = 0; s < signals; ++s) {
    while (truth[s].size() < t) truth[s].insert(static_cast<int>(rng.below(k)));
    for (int j : truth[s]) {
      const float c = (rng.uniform() < 0.5f ? -1.0f : 1.0f) * rng.uniform(1.0f, 2.0f);
      for (int64_t i = 0; i < n; ++i) x.data()[s * n + i] += c * d.data()[j * n + i];
    }
  }
  const mc::SparseRows codes = mc::batch_omp(x, d, t);
  int exact = 0;
  for (int64_t s = 0; s < signals; ++s) {
    std::set<int> got(codes.col.begin() + codes.row_ptr[s], codes.col.begin() + codes.row_ptr[s + 1]);
    exact += got == truth[s];
  }
  EXPECT_EQ(exact, signals);
  // And the reconstruction is exact.
  const mc::Tensor approx = mc::matmul(codes.to_dense(), d);
  EXPECT_LT(mc_test::max_abs_diff(approx, x), 1e-4);
}

TEST(Omp, MatchesReferenceOmpOnDenseSignals) {
  const int64_t k = 80, n = 40, signals = 50, t = 6;
  const mc::Tensor d = unit_rows(gaussian(k, n, 3));
  const mc::Tensor x = gaussian(signals, n, 4);
  const mc::SparseRows codes = mc::batch_omp(x, d, t);
  for (int64_t s = 0; s < signals; ++s) {
    const auto ref = reference_omp(x.data() + s * n, d, t);
    ASSERT_EQ(codes.row_ptr[s + 1] - codes.row_ptr[s], t);
    for (int64_t p = 0; p < t; ++p) {
      EXPECT_EQ(codes.col[codes.row_ptr[s] + p], ref[p].first) << "signal " << s << " step " << p;
      EXPECT_NEAR(codes.val[codes.row_ptr[s] + p], ref[p].second, 1e-3 * (1 + std::abs(ref[p].second)));
    }
  }
}

TEST(Omp, RefusesBadInput) {
  const mc::Tensor d = unit_rows(gaussian(10, 8, 1));
  EXPECT_THROW(mc::batch_omp(gaussian(3, 8, 2), d, 11), mc::ValueError);  // nnz > atoms
  EXPECT_THROW(mc::batch_omp(gaussian(3, 8, 2), d, 0), mc::ValueError);
  EXPECT_THROW(mc::batch_omp(gaussian(3, 7, 2), d, 2), mc::ShapeError);
  mc::Tensor bad = gaussian(3, 8, 2);
  bad.data()[5] = NAN;
  EXPECT_THROW(mc::batch_omp(bad, d, 2), mc::ValueError);
}

TEST(Dictionary, LearningLowersTheError) {
  // Rows built from 3 of 24 hidden atoms plus noise: learning must beat its initial coding.
  const int64_t m = 300, n = 32, hidden = 24;
  const mc::Tensor atoms = unit_rows(gaussian(hidden, n, 5));
  mc::Rng rng(6);
  mc::Tensor a = mc::Tensor::zeros({m, n});
  for (int64_t i = 0; i < m; ++i) {
    for (int r = 0; r < 3; ++r) {
      const int64_t j = static_cast<int64_t>(rng.below(hidden));
      const float c = rng.normal();
      for (int64_t q = 0; q < n; ++q) a.data()[i * n + q] += c * atoms.data()[j * n + q];
    }
    for (int64_t q = 0; q < n; ++q) a.data()[i * n + q] += 0.01f * rng.normal();
  }
  mc::DictionarySettings s;
  s.atoms = 24;
  s.nnz = 3;
  s.iters = 15;
  const mc::DictionaryResult r = mc::DictionaryCompressor(s).learn(a, rng);
  ASSERT_EQ(r.rel_errors.size(), 16u);
  EXPECT_LT(r.rel_errors.back(), 0.7 * r.rel_errors.front());
  EXPECT_NEAR(r.matrix->relative_error(a), *std::min_element(r.rel_errors.begin(), r.rel_errors.end()), 1e-4);
  // Atoms are unit rows; every row holds exactly nnz entries.
  const mc::Tensor d = r.matrix->factors()[0].value;
  for (int64_t j = 0; j < 24; ++j) {
    double s2 = 0;
    for (int64_t q = 0; q < n; ++q) s2 += static_cast<double>(d.data()[j * n + q]) * d.data()[j * n + q];
    EXPECT_NEAR(s2, 1.0, 1e-4);
  }
  EXPECT_EQ(r.matrix->nnz(), m * 3);
}

TEST(Dictionary, StoredSizeByHand) {
  mc::DictionarySettings s;
  s.atoms = 6;  // 3 index bits
  s.nnz = 2;
  s.iters = 1;
  mc::Rng rng(0);
  auto c = mc::DictionaryCompressor(s).compress(gaussian(30, 20, 1), rng);
  EXPECT_EQ(c->stored_bits(), 30 * 2 * (32 + 3) + 6 * 20 * 32);  // 2100 + 3840
  // Rows of unequal length add per-row counts: ceil(log2(2 + 1)) = 2 bits per row.
  mc::DictionaryMatrix uneven({0, 1, 3}, {0, 1, 2}, mc::Tensor::ones({3}), gaussian(4, 5, 2));
  EXPECT_EQ(uneven.stored_bits(), 3 * (32 + 2) + 4 * 5 * 32 + 2 * 2);
}

TEST(Dictionary, RefusesBadSettings) {
  mc::Rng rng(0);
  mc::DictionarySettings s;
  s.atoms = 4;
  s.nnz = 5;
  try {
    mc::DictionaryCompressor{s};
    FAIL();
  } catch (const mc::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("exceeds the number of atoms"), std::string::npos);
  }
  s.atoms = 40;  // more atoms than rows
  s.nnz = 2;
  EXPECT_THROW(mc::DictionaryCompressor(s).compress(gaussian(30, 20, 1), rng), mc::ValueError);
  s.atoms = 29;  // 29*20*32 + 30*2*(32+5) = 20780 bits > 19200 dense
  EXPECT_THROW(mc::DictionaryCompressor(s).compress(gaussian(30, 20, 1), rng), mc::ValueError);
}

TEST(Dictionary, Gradients) {
  mc::DictionarySettings s;
  s.atoms = 5;
  s.nnz = 2;
  s.iters = 2;
  mc::Rng rng(0);
  auto c = mc::DictionaryCompressor(s).compress(gaussian(16, 24, 3), rng);
  mc_test::check_method(*c, 15);
}
