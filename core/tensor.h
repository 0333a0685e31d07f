// Tensor: float32, contiguous, row-major, shape listed outermost-first ({rows, cols}).
//
//   Tensor x = Tensor::zeros({128, 2304});   // 128 rows of 2304 floats
//   Tensor first = x.rows(0, 64);            // a view: shares storage, no copy
//   Tensor flat = x.view({-1});              // a view with another shape
//
// Storage is shared between views and reference-counted. Every storage carries a version
// counter; code that writes into a tensor in place calls mark_modified(), which lets the
// autograd engine refuse a backward pass through a tensor changed after it was saved.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace mc {

using Shape = std::vector<int64_t>;

std::string to_string(const Shape& shape);  // "[128, 2304]"
int64_t numel_of(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;  // undefined: no storage, defined() is false
  explicit Tensor(Shape shape);  // zero-filled

  static Tensor zeros(Shape shape);
  static Tensor ones(Shape shape);
  static Tensor full(Shape shape, float value);
  static Tensor empty(Shape shape);  // contents unspecified
  static Tensor from(Shape shape, std::vector<float> values);
  static Tensor scalar(float value);  // shape {}

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int64_t dim() const { return static_cast<int64_t>(shape_.size()); }
  int64_t size(int64_t axis) const;  // negative axes count from the end
  int64_t numel() const { return numel_; }

  float* data();
  const float* data() const;
  std::span<float> span() { return {data(), static_cast<size_t>(numel_)}; }
  std::span<const float> span() const { return {data(), static_cast<size_t>(numel_)}; }
  float item() const;  // the value of a one-element tensor

  // Views share storage. view() accepts one -1 for an inferred extent.
  Tensor view(Shape shape) const;
  Tensor rows(int64_t begin, int64_t end) const;  // [begin, end) along axis 0

  Tensor clone() const;
  void copy_from(const Tensor& other);  // same numel required; bumps the version
  void fill(float value);               // bumps the version
  bool same_storage(const Tensor& other) const { return storage_ == other.storage_; }

  uint64_t version() const;
  void mark_modified();

 private:
  struct Storage;
  std::shared_ptr<Storage> storage_;
  int64_t offset_ = 0;
  int64_t numel_ = 0;
  Shape shape_;
};

// (m, n) -> a new (n, m) tensor, blocked for the caches.
Tensor transpose_2d(const Tensor& x);

// ||a - approx||_F / ||a||_F, summed in double precision (||a - approx||_F where a is all
// zeros). ShapeError unless the two have the same shape.
double relative_error(const Tensor& a, const Tensor& approx);

}  // namespace mc
