#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "matcomp/core/rng.h"

TEST(Rng, SameSeedSameStreamDifferentSeedDifferentStream) {
  mc::Rng a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.next_u64();
    EXPECT_EQ(x, b.next_u64());
    differs |= x != c.next_u64();
  }
  EXPECT_TRUE(differs);
}

TEST(Rng, StreamIsPinned) {
  // Golden values from an independent Python transcription of xoshiro256** + splitmix64.
  // The stream must never change across platforms or refactors, or every
  // published run would stop being reproducible from its seed.
  mc::Rng r(2024);
  const uint64_t first = r.next_u64();
  const uint64_t second = r.next_u64();
  EXPECT_EQ(first, 0x0e48715a13d7772eull);
  EXPECT_EQ(second, 0xc837f3ee8a7a1065ull);
}

TEST(Rng, UniformAndNormalMoments) {
  mc::Rng r(7);
  double su = 0, sn = 0, sn2 = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const float u = r.uniform();
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    su += u;
    const float z = r.normal();
    sn += z;
    sn2 += static_cast<double>(z) * z;
  }
  EXPECT_NEAR(su / n, 0.5, 0.005);
  EXPECT_NEAR(sn / n, 0.0, 0.01);
  EXPECT_NEAR(sn2 / n, 1.0, 0.02);
}

TEST(Rng, BelowIsInRangeAndCoversIt) {
  mc::Rng r(1);
  std::set<uint64_t> seen;
  for (int i = 0; i < 1000; ++i) {
    const uint64_t v = r.below(7);
    ASSERT_LT(v, 7u);
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 7u);
}

TEST(Rng, PermutationIsAPermutation) {
  mc::Rng r(3);
  auto p = r.permutation(100);
  std::set<int64_t> s(p.begin(), p.end());
  EXPECT_EQ(s.size(), 100u);
  EXPECT_EQ(*s.begin(), 0);
  EXPECT_EQ(*s.rbegin(), 99);
}

TEST(Rng, StateRoundTripContinuesBitForBit) {
  mc::Rng r(5);
  (void)r.normal();  // leaves a spare normal cached
  const auto st = r.state();
  const float a1 = r.normal(), a2 = r.uniform();
  mc::Rng other(999);
  other.set_state(st);
  EXPECT_EQ(a1, other.normal());
  EXPECT_EQ(a2, other.uniform());
}
