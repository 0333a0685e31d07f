#include "matcomp/core/tensor.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "matcomp/core/error.h"

namespace mc {

namespace {

// Training frees and reallocates the same large activations every step (PTB's 400 x 10000
// logits are 16 MB). By default glibc serves such blocks with mmap and gives them back to the
// kernel on free, so each step paid a page fault per 4 KiB again: 3.7x more faults than with
// this policy, measured on the PTB prefix. Freed blocks up to 32 MB now stay in the heap for
// the next step; resident memory stays at the step's peak, as with a caching allocator.
bool keep_freed_blocks_for_reuse() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
  return true;
}

}  // namespace

// 64-byte aligned so that BLAS and the compiler's vector loads start on a cache line.
struct Tensor::Storage {
  float* ptr = nullptr;
  int64_t size = 0;
  uint64_t version = 0;

  explicit Storage(int64_t n) : size(n) {
    static const bool heap_policy_set = keep_freed_blocks_for_reuse();
    (void)heap_policy_set;
    const size_t bytes = std::max<size_t>(64, ((static_cast<size_t>(n) * sizeof(float) + 63) / 64) * 64);
    ptr = static_cast<float*>(std::aligned_alloc(64, bytes));
    if (ptr == nullptr) throw std::bad_alloc();
  }
  ~Storage() { std::free(ptr); }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

std::string to_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

int64_t numel_of(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    MC_CHECK(d >= 0, ShapeError, "negative extent in shape " << to_string(shape));
    MC_CHECK(!__builtin_mul_overflow(n, d, &n), ShapeError, "shape " << to_string(shape) << " has more elements than int64 holds");
  }
  return n;
}

Tensor Tensor::empty(Shape shape) {
  Tensor t;
  t.numel_ = numel_of(shape);
  t.shape_ = std::move(shape);
  t.storage_ = std::make_shared<Storage>(t.numel_);
  return t;
}

Tensor::Tensor(Shape shape) : Tensor(empty(std::move(shape))) {
  std::memset(storage_->ptr, 0, sizeof(float) * static_cast<size_t>(numel_));
}

Tensor Tensor::zeros(Shape shape) { return Tensor(std::move(shape)); }
Tensor Tensor::ones(Shape shape) { return full(std::move(shape), 1.0f); }

Tensor Tensor::full(Shape shape, float value) {
  Tensor t = empty(std::move(shape));
  std::fill(t.data(), t.data() + t.numel_, value);
  return t;
}

Tensor Tensor::from(Shape shape, std::vector<float> values) {
  Tensor t = empty(std::move(shape));
  MC_CHECK(static_cast<int64_t>(values.size()) == t.numel_, ShapeError,
           "Tensor::from: " << values.size() << " values for shape " << to_string(t.shape_));
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

Tensor Tensor::scalar(float value) { return full({}, value); }

int64_t Tensor::size(int64_t axis) const {
  const int64_t d = dim();
  const int64_t a = axis < 0 ? axis + d : axis;
  MC_CHECK(a >= 0 && a < d, ShapeError, "axis " << axis << " out of range for shape " << to_string(shape_));
  return shape_[static_cast<size_t>(a)];
}

float* Tensor::data() {
  MC_CHECK(defined(), Error, "data() of an undefined tensor");
  return storage_->ptr + offset_;
}

const float* Tensor::data() const {
  MC_CHECK(defined(), Error, "data() of an undefined tensor");
  return storage_->ptr + offset_;
}

float Tensor::item() const {
  MC_CHECK(numel_ == 1, ShapeError, "item() needs one element, shape is " << to_string(shape_));
  return data()[0];
}

Tensor Tensor::view(Shape shape) const {
  MC_CHECK(defined(), Error, "view() of an undefined tensor");
  int64_t known = 1;
  int inferred = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      MC_CHECK(inferred < 0, ShapeError, "view: more than one -1 in " << to_string(shape));
      inferred = static_cast<int>(i);
    } else {
      MC_CHECK(shape[i] >= 0, ShapeError, "view: bad extent in " << to_string(shape));
      known *= shape[i];
    }
  }
  if (inferred >= 0) {
    MC_CHECK(known > 0 && numel_ % known == 0, ShapeError,
             "view: cannot infer -1 to view " << to_string(shape_) << " as " << to_string(shape));
    shape[static_cast<size_t>(inferred)] = numel_ / known;
    known = numel_;
  }
  MC_CHECK(known == numel_, ShapeError,
           "view: " << to_string(shape_) << " has " << numel_ << " elements, " << to_string(shape)
                    << " needs " << known);
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::rows(int64_t begin, int64_t end) const {
  MC_CHECK(dim() >= 1, ShapeError, "rows() of a scalar");
  MC_CHECK(0 <= begin && begin <= end && end <= shape_[0], ShapeError,
           "rows(" << begin << ", " << end << ") out of range for shape " << to_string(shape_));
  Tensor t = *this;
  const int64_t row = shape_[0] == 0 ? 0 : numel_ / shape_[0];
  t.offset_ = offset_ + begin * row;
  t.shape_[0] = end - begin;
  t.numel_ = (end - begin) * row;
  return t;
}

Tensor Tensor::clone() const {
  if (!defined()) return {};
  Tensor t = empty(shape_);
  std::memcpy(t.data(), data(), sizeof(float) * static_cast<size_t>(numel_));
  return t;
}

void Tensor::copy_from(const Tensor& other) {
  MC_CHECK(other.numel_ == numel_, ShapeError,
           "copy_from: " << to_string(other.shape_) << " into " << to_string(shape_));
  if (numel_) std::memmove(data(), other.data(), sizeof(float) * static_cast<size_t>(numel_));
  mark_modified();
}

void Tensor::fill(float value) {
  std::fill(data(), data() + numel_, value);
  mark_modified();
}

uint64_t Tensor::version() const { return storage_ ? storage_->version : 0; }

void Tensor::mark_modified() {
  if (storage_) ++storage_->version;
}

Tensor transpose_2d(const Tensor& x) {
  MC_CHECK(x.dim() == 2, ShapeError, "transpose_2d needs a 2-D tensor, got " << to_string(x.shape()));
  const int64_t m = x.size(0), n = x.size(1);
  Tensor out = Tensor::empty({n, m});
  const float* px = x.data();
  float* po = out.data();
  constexpr int64_t kBlock = 32;
  for (int64_t i0 = 0; i0 < m; i0 += kBlock)
    for (int64_t j0 = 0; j0 < n; j0 += kBlock)
      for (int64_t i = i0; i < std::min(m, i0 + kBlock); ++i)
        for (int64_t j = j0; j < std::min(n, j0 + kBlock); ++j) po[j * m + i] = px[i * n + j];
  return out;
}

double relative_error(const Tensor& a, const Tensor& approx) {
  MC_CHECK(a.shape() == approx.shape(), ShapeError,
           "relative_error: " << to_string(a.shape()) << " against an approximation " << to_string(approx.shape()));
  double diff = 0, norm = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double d = static_cast<double>(a.data()[i]) - approx.data()[i];
    diff += d * d;
    norm += static_cast<double>(a.data()[i]) * a.data()[i];
  }
  return norm > 0 ? std::sqrt(diff / norm) : std::sqrt(diff);
}

}  // namespace mc
