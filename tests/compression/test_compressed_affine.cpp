// compressed_affine: a Dense layer's product with a compressed weight, the bias folded in.
// Forward against compressed_multiply + add; gradients of the input and the bias by the
// autograd gradient check (the factors' gradients are checked per method in check_method,
// through the same multiply_backward).
#include <gtest/gtest.h>

#include <string>

#include "matcomp/autograd/gradcheck.h"
#include "matcomp/autograd/ops.h"
#include "matcomp/compression/compressed_ops.h"
#include "matcomp/compression/registry.h"
#include "matcomp/core/rng.h"
#include "helpers.h"

namespace {

struct AffineCase {
  const char* method;
  double ratio;
};

class CompressedAffine : public ::testing::TestWithParam<AffineCase> {};

TEST_P(CompressedAffine, MatchesMultiplyPlusBiasAndHasCheckedGradients) {
  const int64_t m = 12, n = 9;
  mc::Rng rng(3);
  const auto compressor = mc::compressor_for_ratio(GetParam().method, m, n, GetParam().ratio, {});
  const std::shared_ptr<mc::CompressedMatrix> matrix = compressor->compress(mc_test::gaussian(m, n, 4), rng);
  std::vector<mc::Var> factors;
  for (const mc::Factor& f : matrix->factors()) factors.emplace_back(f.value, f.trainable);

  const mc::Tensor x = mc_test::gaussian(5, m, 5);
  mc::Tensor bias = mc::Tensor::empty({n});
  mc::Rng(6).fill_normal(bias, 0.0f, 1.0f);
  const mc::Tensor fused = mc::compressed_affine(mc::Var(x), matrix, factors, mc::Var(bias)).value();
  const mc::Tensor plain = mc::add(mc::compressed_multiply(mc::Var(x), matrix, factors), mc::Var(bias)).value();
  EXPECT_LT(mc_test::max_abs_diff(fused, plain), 1e-5 * (1.0 + mc_test::max_abs(plain)));

  const mc::GradcheckResult r = mc::gradcheck(
      [&](const std::vector<mc::Var>& v) { return mc::compressed_affine(v[0], matrix, factors, v[1]); }, {x, bias});
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_GT(r.checked, 0);
  EXPECT_GT(r.nonzero, 0);
}

INSTANTIATE_TEST_SUITE_P(Methods, CompressedAffine,
                         ::testing::Values(AffineCase{"lowrank", 0.5}, AffineCase{"simhash", 0.5}, AffineCase{"kmeans", 0.25},
                                           AffineCase{"dictionary", 0.6}, AffineCase{"prune", 0.5}),
                         [](const auto& info) { return std::string(info.param.method); });

}  // namespace
