#include "matcomp/compression/compressed_ops.h"

#include "matcomp/autograd/node.h"
#include "matcomp/core/error.h"
#include "matcomp/layers/kernels/affine_op.h"

namespace mc {

namespace {
// Gradients for inputs [x?, factors...] from the method's factor gradients.
Grads factor_grads_to_inputs(std::vector<Tensor>& factor_grads, const Needs& need, size_t first) {
  Grads grads(first + factor_grads.size());
  for (size_t i = 0; i < factor_grads.size(); ++i)
    if (need[first + i] && factor_grads[i].defined()) grads[first + i] = std::move(factor_grads[i]);
  return grads;
}

// The gradients of x Â for inputs [x, ..., factors...] with the factors from index `first`:
// dx in grads[0] (when needed), the factors' from the method's multiply_backward, or, when the
// forward went through Â and kept it (`dense` defined), from dense_product_backward with it.
Grads product_grads(const CompressedMatrix& matrix, const Tensor& x, const Tensor& dense, const Tensor& dy,
                    const Needs& need, size_t first) {
  std::vector<Tensor> factor_grads(matrix.factors().size());
  Tensor dx;
  if (need[0]) dx = Tensor::empty(x.shape());
  if (dense.defined()) matrix.dense_product_backward(x, dense, dy, need[0] ? &dx : nullptr, factor_grads);
  else matrix.multiply_backward(x, dy, need[0] ? &dx : nullptr, factor_grads);
  Grads grads = factor_grads_to_inputs(factor_grads, need, first);
  grads[0] = dx;
  return grads;
}

// A product through Â forms it here, once, and the backward rule keeps it (as the dense ops
// keep their A) rather than forming it again: y = x Â, or y = bias + x Â with the sgemm adding
// into the bias. Returns the Â (undefined when the method's own product ran instead).
Tensor forward_product(const CompressedMatrix& matrix, const Tensor& x, const Tensor* bias, Tensor& y) {
  if (!matrix.multiplies_through_dense(x.size(0))) {
    if (bias) matrix.multiply_add_bias(x, *bias, y);
    else matrix.multiply(x, y);
    return Tensor();
  }
  Tensor dense = matrix.materialize();
  multiply_through_dense(x, dense, bias, y);
  return dense;
}

SavedTensor saved_if_defined(const Tensor& t, const char* op) { return t.defined() ? SavedTensor(t, op) : SavedTensor(); }
}  // namespace

Var compressed_multiply(const Var& x, const std::shared_ptr<CompressedMatrix>& matrix, const std::vector<Var>& factors) {
  MC_CHECK(x.value().dim() == 2 && x.shape()[1] == matrix->rows(), ShapeError,
           matrix->method() << " product: input " << to_string(x.shape()) << " does not fit a " << matrix->rows() << "x"
                            << matrix->cols() << " matrix");
  Tensor y = Tensor::empty({x.shape()[0], matrix->cols()});
  const Tensor dense = forward_product(*matrix, x.value(), nullptr, y);
  std::vector<Var> inputs{x};
  inputs.insert(inputs.end(), factors.begin(), factors.end());
  return record("compressed_multiply", std::move(y), std::move(inputs),
                [matrix, saved_x = SavedTensor(x.value(), "compressed_multiply"),
                 saved_dense = saved_if_defined(dense, "compressed_multiply")](const Grads& g, const Needs& need) {
                  return product_grads(*matrix, saved_x.get(), saved_dense.get(), g[0], need, 1);
                });
}

Var compressed_affine(const Var& x, const std::shared_ptr<CompressedMatrix>& matrix, const std::vector<Var>& factors,
                      const Var& bias) {
  MC_CHECK(x.value().dim() == 2 && x.shape()[1] == matrix->rows() && bias.value().numel() == matrix->cols(), ShapeError,
           matrix->method() << " affine: input " << to_string(x.shape()) << " and bias " << to_string(bias.shape())
                            << " do not fit a " << matrix->rows() << "x" << matrix->cols() << " matrix");
  Tensor y = Tensor::empty({x.shape()[0], matrix->cols()});
  const Tensor dense = forward_product(*matrix, x.value(), &bias.value(), y);
  // Inputs [x, bias, factors...].
  std::vector<Var> inputs{x, bias};
  inputs.insert(inputs.end(), factors.begin(), factors.end());
  return record("compressed_affine", std::move(y), std::move(inputs),
                [matrix, saved_x = SavedTensor(x.value(), "compressed_affine"),
                 saved_dense = saved_if_defined(dense, "compressed_affine")](const Grads& g, const Needs& need) {
                  Grads grads = product_grads(*matrix, saved_x.get(), saved_dense.get(), g[0], need, 2);
                  if (need[1]) grads[1] = column_sums(g[0]);  // d bias (n), as the dense affine op
                  return grads;
                });
}

Var compressed_dense(const std::shared_ptr<CompressedMatrix>& matrix, const std::vector<Var>& factors) {
  return record("compressed_dense", matrix->materialize(), factors, [matrix](const Grads& g, const Needs& need) {
    std::vector<Tensor> factor_grads(matrix->factors().size());
    matrix->materialize_backward(g[0], factor_grads);
    return factor_grads_to_inputs(factor_grads, need, 0);
  });
}

}  // namespace mc
