// CompressedMatrix: the result of factoring a dense m x n matrix A into two pieces whose
// "product" approximates it. The product need not be a matmul: a gather for k-means, sparse
// times dense for dictionary learning, signs times scales for simhash, a mask for pruning.
//
// Convention: A is (m, n) = (inputs, outputs), and a layer computes y (batch, n) = x (batch, m) A.
// So multiply() computes x Â, where Â is the approximation of A the factors define.
//
// Float factors are Tensors; a training framework shares their storage with its parameters,
// so an optimizer step on a parameter is a step on the factor. Integer state (codes, masks,
// sparse supports, seeds) stays inside the method and is exposed for checkpoints and export.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "matcomp/core/npy.h"
#include "matcomp/core/tensor.h"

namespace mc {

struct Factor {
  std::string name;   // short, stable: "B", "C", "codebook", "values", "scale"...
  Tensor value;       // shares storage with the method's own copy
  bool trainable;     // receives gradients after the switch
  // Multiplies the optimizer's learning rate for this factor. An entry shared by u entries of
  // the matrix (a k-means centroid, a dictionary atom) gets the sum of their u gradients, so
  // at the learning rate that trained A it would move ~u times as far as any entry of A did,
  // and training diverges; such factors use 1 / (mean number of uses).
  float lr_scale = 1.0f;
};

// y (batch, n) = x (batch, m) Â (m, n), or bias (n) + x Â (bias null: the plain product), on
// the dense layers' own product (affine_forward), so the bits match a dense layer holding Â.
// The product of every method whose multiply() is materialize then one product, given its Â.
void multiply_through_dense(const Tensor& x, const Tensor& dense, const Tensor* bias, Tensor& y);

class CompressedMatrix {
 public:
  virtual ~CompressedMatrix() = default;

  virtual std::string method() const = 0;  // "lowrank", "simhash", "kmeans", ...
  virtual int64_t rows() const = 0;        // m
  virtual int64_t cols() const = 0;        // n
  virtual std::vector<Factor> factors() const = 0;
  virtual nlohmann::json settings() const = 0;  // the method's settings, for reports

  // Â (m, n), the dense approximation.
  virtual Tensor materialize() const = 0;
  // Chain rule from d loss / d Â (m, n) to the trainable factors: adds into factor_grads,
  // which has one entry per factor (same order as factors()); entries of frozen factors are
  // left undefined. An entry that is undefined on input is allocated.
  virtual void materialize_backward(const Tensor& d_dense, std::vector<Tensor>& factor_grads) const = 0;

  // y (batch, n) = x (batch, m) Â. Default: materialize, then one sgemm.
  virtual void multiply(const Tensor& x, Tensor& y) const;
  // y (batch, n) = x Â + bias (n): a layer's affine map. Default: where
  // multiplies_through_dense, y starts at the bias and the sgemm adds x Â into it (beta = 1,
  // as the dense affine op), which saves a pass over y (400 x 10000 for PTB's softmax);
  // otherwise multiply, then one pass adding the bias.
  virtual void multiply_add_bias(const Tensor& x, const Tensor& bias, Tensor& y) const;
  // dx (batch, m) = dy Â^T (skipped when dx is null) and factor gradients added as in
  // materialize_backward. Default: through materialize and materialize_backward.
  virtual void multiply_backward(const Tensor& x, const Tensor& dy, Tensor* dx, std::vector<Tensor>& factor_grads) const;

  // Whether multiply() of `batch` rows is materialize() then one sgemm, the default product.
  // The autograd ops then form Â once a forward and keep it for the backward
  // (dense_product_backward), as a dense layer keeps its A, instead of forming it again there.
  // Default false, so that a method with its own product is never bypassed; methods that use
  // the default product, or go through Â for some batches, say so (and get the folded bias of
  // the default multiply_add_bias with it).
  virtual bool multiplies_through_dense(int64_t batch) const {
    (void)batch;
    return false;
  }
  // The backward of y = x Â given the Â (m, n) the forward used: dx (batch, m) = dy Â^T
  // (skipped when dx is null), then dÂ = x^T dy into materialize_backward. The default
  // multiply_backward, with Â formed anew.
  void dense_product_backward(const Tensor& x, const Tensor& dense, const Tensor& dy, Tensor* dx,
                              std::vector<Tensor>& factor_grads) const;

  // Stored size, counted honestly: floats at 32 bits, indices at ceil(log2(range)) bits,
  // signs at 1 bit, sparse positions included, seeds at 64 bits.
  virtual int64_t stored_bits() const = 0;
  int64_t stored_bytes() const { return (stored_bits() + 7) / 8; }
  // Bytes the matrix holds in memory to multiply: its float factors and integer state, plus
  // whatever it forms once from them (simhash's R S). Default: factors and integer_state().
  virtual int64_t resident_bytes() const;

  // Inference of a loaded model: true where multiplying through this product is faster than
  // one dense sgemm with a dense Â formed once, so the product is kept at inference. Default
  // false: the default multiply() materializes Â on every call anyway. Measured per method
  // with BM_Infer_Local3 (docs/PERFORMANCE.md, "Inference of a loaded model").
  virtual bool product_beats_dense() const { return false; }

  // Integer state (codes, masks, supports) for checkpoints and export, as typed arrays.
  virtual std::map<std::string, NpyArray> integer_state() const { return {}; }

  // Called after each optimizer step on the trainable factors: e.g. pruning zeroes the
  // pruned entries again so momentum cannot revive them.
  virtual void after_optimizer_step() {}

  // ||A - Â||_F / ||A||_F, in double precision.
  double relative_error(const Tensor& a) const;

 protected:
  // dense_product_backward's dÂ (m, n) is a temporary of its own, handed over here: a method
  // may write into it or keep it as its factor's gradient rather than add it into a zeroed
  // one (pruning does). Default: materialize_backward.
  virtual void materialize_backward_taking(Tensor d_dense, std::vector<Tensor>& factor_grads) const {
    materialize_backward(d_dense, factor_grads);
  }
};

}  // namespace mc
