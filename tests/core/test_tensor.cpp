#include <gtest/gtest.h>

#include <cmath>

#include "matcomp/core/error.h"
#include "matcomp/core/tensor.h"

using mc::Tensor;

TEST(Tensor, ZerosHaveShapeAndCount) {
  Tensor t = Tensor::zeros({3, 4});
  EXPECT_EQ(t.dim(), 2);
  EXPECT_EQ(t.size(0), 3);
  EXPECT_EQ(t.size(-1), 4);
  EXPECT_EQ(t.numel(), 12);
  for (float v : t.span()) EXPECT_EQ(v, 0.0f);
}

TEST(Tensor, ViewsShareStorageAndVersion) {
  Tensor t = Tensor::from({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor v = t.view({3, -1});
  EXPECT_EQ(v.shape(), (mc::Shape{3, 2}));
  Tensor r = t.rows(1, 2);
  EXPECT_EQ(r.shape(), (mc::Shape{1, 3}));
  EXPECT_EQ(r.data()[0], 4.0f);
  const auto before = t.version();
  r.fill(9.0f);
  EXPECT_EQ(t.data()[3], 9.0f);
  EXPECT_GT(t.version(), before);  // the version counter is shared by all views
  EXPECT_TRUE(v.same_storage(t));
}

TEST(Tensor, CloneIsIndependent) {
  Tensor t = Tensor::ones({4});
  Tensor c = t.clone();
  c.fill(2.0f);
  EXPECT_EQ(t.data()[0], 1.0f);
  EXPECT_FALSE(c.same_storage(t));
}

TEST(Tensor, BadViewsNameTheShapes) {
  Tensor t = Tensor::zeros({2, 3});
  try {
    (void)t.view({4, 2});
    FAIL() << "view to a different element count must throw";
  } catch (const mc::ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 3]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[4, 2]"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)t.rows(1, 3), mc::ShapeError);
  EXPECT_THROW((void)t.view({-1, -1}), mc::ShapeError);
  EXPECT_THROW(Tensor::from({2, 2}, {1, 2, 3}), mc::ShapeError);
  EXPECT_THROW((void)t.size(2), mc::ShapeError);
}

TEST(Tensor, DataIsAligned) {
  Tensor t = Tensor::empty({7, 13});
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % 64, 0u);
}

TEST(Tensor, RelativeErrorIsTheFrobeniusRatio) {
  const Tensor a = Tensor::from({2, 2}, {3, 0, 0, 4});       // ||a|| = 5
  const Tensor approx = Tensor::from({2, 2}, {3, 1, 0, 4});  // ||a - approx|| = 1
  EXPECT_DOUBLE_EQ(mc::relative_error(a, approx), 0.2);
  EXPECT_DOUBLE_EQ(mc::relative_error(a, a), 0.0);
  // Against all zeros there is nothing to divide by: the absolute error.
  EXPECT_DOUBLE_EQ(mc::relative_error(Tensor::zeros({2, 2}), approx), std::sqrt(26.0));
  EXPECT_THROW((void)mc::relative_error(a, Tensor::zeros({4})), mc::ShapeError);
}
