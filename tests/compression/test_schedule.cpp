#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "matcomp/compression/schedule.h"
#include "matcomp/core/error.h"

TEST(BlendSchedule, ReferenceExampleIsPinned) {
  // The reference's own test: begin 1000, frequency 10 -> step 1001 gives 0.99, a later
  // update 0.98.
  mc::BlendSchedule s{1000, -1, 10, 0.01};
  EXPECT_DOUBLE_EQ(s.alpha(999), 1.0);
  EXPECT_TRUE(s.is_update(1000));
  EXPECT_DOUBLE_EQ(s.alpha(1000), 0.99);
  EXPECT_DOUBLE_EQ(s.alpha(1001), 0.99);
  EXPECT_FALSE(s.is_update(1001));
  EXPECT_DOUBLE_EQ(s.alpha(1009), 0.99);
  EXPECT_DOUBLE_EQ(s.alpha(1010), 0.98);
}

TEST(BlendSchedule, AlphaNeverBelowZeroAndSwitchStepIsFirstZero) {
  mc::BlendSchedule s{100, -1, 5, 0.25};
  EXPECT_EQ(s.switch_step(), 115);
  EXPECT_GT(s.alpha(114), 0.0);
  EXPECT_DOUBLE_EQ(s.alpha(115), 0.0);
  EXPECT_DOUBLE_EQ(s.alpha(100000), 0.0);
}

TEST(BlendSchedule, EndStepFreezesAlpha) {
  mc::BlendSchedule s{0, 20, 10, 0.1};
  EXPECT_DOUBLE_EQ(s.alpha(20), 0.7);
  EXPECT_DOUBLE_EQ(s.alpha(500), 0.7);
  EXPECT_EQ(s.switch_step(), -1);
  EXPECT_FALSE(s.is_update(30));
}

TEST(BlendSchedule, ImmediateSwitch) {
  auto s = mc::BlendSchedule::immediate(50);
  EXPECT_DOUBLE_EQ(s.alpha(49), 1.0);
  EXPECT_DOUBLE_EQ(s.alpha(50), 0.0);
  EXPECT_EQ(s.switch_step(), 50);
}

TEST(BlendSchedule, InvalidSettingsAreNamed) {
  mc::BlendSchedule bad{10, 5, 1, 0.1};
  try {
    bad.validate();
    FAIL();
  } catch (const mc::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("end_step"), std::string::npos);
  }
  EXPECT_THROW((mc::BlendSchedule{0, -1, 0, 0.1}.validate()), mc::ValueError);
  EXPECT_THROW((mc::BlendSchedule{0, -1, 1, 0.0}.validate()), mc::ValueError);
}

TEST(SparsitySchedule, PolynomialCubic) {
  mc::SparsitySchedule s{100, 200, 10, 0.0, 0.8};
  EXPECT_DOUBLE_EQ(s.sparsity(50), 0.0);
  EXPECT_NEAR(s.sparsity(150), 0.8 + (0.0 - 0.8) * 0.125, 1e-12);
  EXPECT_DOUBLE_EQ(s.sparsity(200), 0.8);
  EXPECT_DOUBLE_EQ(s.sparsity(999), 0.8);
  EXPECT_TRUE(s.is_mask_update(110));
  EXPECT_FALSE(s.is_mask_update(111));
  EXPECT_FALSE(s.is_mask_update(210));
}

TEST(Schedules, JsonRoundTrip) {
  mc::BlendSchedule s{7, 70, 3, 0.05};
  nlohmann::json j = s;
  auto back = j.get<mc::BlendSchedule>();
  EXPECT_EQ(back.begin_step, 7);
  EXPECT_EQ(back.end_step, 70);
  EXPECT_DOUBLE_EQ(back.alpha_decrement, 0.05);
}
