// Fused affine op y = x W + b for dense layers: with OpenBLAS the bias is written into y first
// and the product added by the same sgemm (beta = 1); with the builtin product
// (layers/kernels/layer_gemm.h, the default where it is compiled) the product is written first and the
// bias added in one pass. No temporary either way.
#pragma once

#include "matcomp/autograd/variable.h"

namespace mc {

// x (n, in), w (in, out), b (out) -> (n, out)
Var affine(const Var& x, const Var& w, const Var& b);

// The forward product alone: y (n, out) = x (n, in) W (in, out), plus b (out) on every row
// when b is given, on the layers' product (layer_gemm.h). The compressed layers' products
// through Â call it too, so that a model reloaded with its weights dense computes the same
// bits as the model that trained them.
void affine_forward(const Tensor& x, const Tensor& w, const Tensor* b, Tensor& y);

// The bias side of an affine map, shared with the LSTM op and the compressed products:
// y (n, out) = b (out) on every row (an sgemm with beta = 1 then adds the product) ...
void fill_rows(const Tensor& b, Tensor& y);
// ... y (n, out) += b on every row (when the product was written first) ...
void add_rows(const Tensor& b, Tensor& y);
// ... and the bias gradient, the column sums of dy (n, out) -> (out). Each column is summed
// over the rows in order, so the result does not depend on the thread count.
Tensor column_sums(const Tensor& dy);

}  // namespace mc
