#include "matcomp/compression/compressed_matrix.h"

#include "matcomp/core/blas.h"
#include "matcomp/core/error.h"
#include "matcomp/layers/kernels/affine_op.h"

namespace mc {

void CompressedMatrix::multiply(const Tensor& x, Tensor& y) const {
  MC_CHECK(x.dim() == 2 && x.size(1) == rows(), ShapeError,
           method() << " multiply: input " << to_string(x.shape()) << " does not fit a " << rows() << "x" << cols()
                    << " matrix");
  multiply_through_dense(x, materialize(), nullptr, y);
}

void multiply_through_dense(const Tensor& x, const Tensor& dense, const Tensor* bias, Tensor& y) {
  affine_forward(x, dense, bias, y);  // y (batch, n) = x Â (+ bias): the dense layers' product and bits
}

void CompressedMatrix::multiply_add_bias(const Tensor& x, const Tensor& bias, Tensor& y) const {
  if (!multiplies_through_dense(x.size(0))) {
    multiply(x, y);
    add_rows(bias, y);
    return;
  }
  MC_CHECK(x.dim() == 2 && x.size(1) == rows() && bias.numel() == cols(), ShapeError,
           method() << " multiply: input " << to_string(x.shape()) << " or bias " << to_string(bias.shape())
                    << " does not fit a " << rows() << "x" << cols() << " matrix");
  multiply_through_dense(x, materialize(), &bias, y);
}

void CompressedMatrix::multiply_backward(const Tensor& x, const Tensor& dy, Tensor* dx,
                                         std::vector<Tensor>& factor_grads) const {
  dense_product_backward(x, materialize(), dy, dx, factor_grads);
}

void CompressedMatrix::dense_product_backward(const Tensor& x, const Tensor& dense, const Tensor& dy, Tensor* dx,
                                              std::vector<Tensor>& factor_grads) const {
  if (dx != nullptr) gemm(dy, Trans::No, dense, Trans::Yes, *dx);   // dx (b, m) = dy (b, n) Â^T
  materialize_backward_taking(matmul(x, dy, Trans::Yes, Trans::No), factor_grads);  // dÂ (m, n) = x^T dy
}

double CompressedMatrix::relative_error(const Tensor& a) const {
  MC_CHECK(a.dim() == 2 && a.size(0) == rows() && a.size(1) == cols(), ShapeError,
           "relative_error: A " << to_string(a.shape()) << " vs a " << rows() << "x" << cols() << " " << method());
  return mc::relative_error(a, materialize());
}

}  // namespace mc

namespace mc {

int64_t CompressedMatrix::resident_bytes() const {
  int64_t bytes = 0;
  for (const Factor& f : factors()) bytes += 4 * f.value.numel();
  for (const auto& [name, array] : integer_state()) bytes += static_cast<int64_t>(array.bytes.size());
  return bytes;
}

}  // namespace mc
