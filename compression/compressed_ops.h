// Autograd ops over a CompressedMatrix: its product with an input, and its dense form.
// The factor Vars share storage with the matrix's factors (one per factor, in factors()
// order); gradients reach only the trainable ones.
#pragma once

#include <memory>
#include <vector>

#include "matcomp/autograd/variable.h"
#include "matcomp/compression/compressed_matrix.h"

namespace mc {

// x (batch, m) -> x Â (batch, n)
Var compressed_multiply(const Var& x, const std::shared_ptr<CompressedMatrix>& matrix, const std::vector<Var>& factors);
// x (batch, m), bias (n) -> x Â + bias (batch, n), the bias added inside the product
Var compressed_affine(const Var& x, const std::shared_ptr<CompressedMatrix>& matrix, const std::vector<Var>& factors,
                      const Var& bias);
// Â (m, n)
Var compressed_dense(const std::shared_ptr<CompressedMatrix>& matrix, const std::vector<Var>& factors);

}  // namespace mc
