// The differentiable ops. Each op's forward and backward live side by side in one ops_*.cpp.
// Shapes are outermost-first; binary elementwise ops broadcast (NumPy rules).
#pragma once

#include <cstdint>
#include <vector>

#include "matcomp/autograd/variable.h"

namespace mc {

// Elementwise, broadcasting (ops_arithmetic.cpp).
Var add(const Var& a, const Var& b);
Var sub(const Var& a, const Var& b);
Var mul(const Var& a, const Var& b);
Var div(const Var& a, const Var& b);
Var neg(const Var& x);
Var scale(const Var& x, float factor);      // x * factor
Var add_scalar(const Var& x, float value);  // x + value

// Elementwise nonlinearities (ops_unary.cpp).
Var relu(const Var& x);
Var tanh(const Var& x);
Var sigmoid(const Var& x);
Var exp(const Var& x);
Var log(const Var& x);

// Reductions (ops_reduce.cpp).
Var sum(const Var& x);                            // all elements -> shape {}
Var mean(const Var& x);                           // all elements -> shape {}
Var sum(const Var& x, int64_t axis, bool keepdim = false);
Var mean(const Var& x, int64_t axis, bool keepdim = false);

// Shape ops (ops_shape.cpp). reshape is a view; the rest copy.
Var reshape(const Var& x, Shape shape);
Var transpose(const Var& x);                                    // 2-D: (m, n) -> (n, m)
Var slice(const Var& x, int64_t axis, int64_t begin, int64_t end);  // [begin, end) along axis
Var concat(const std::vector<Var>& xs, int64_t axis);

// a (m, k) b (k, n) -> (m, n), optionally with either operand transposed (ops_matmul.cpp).
Var matmul(const Var& a, const Var& b, bool transpose_a = false, bool transpose_b = false);

// Mean over rows of -log softmax(logits)[label]; logits (n, classes), labels n entries in
// [0, classes). Fused and stable: log-sum-exp with the row maximum subtracted (ops_loss.cpp).
Var softmax_cross_entropy(const Var& logits, const std::vector<int32_t>& labels);

// Rows of table (vocab, dim) picked by ids -> (ids.size(), dim) (ops_embedding.cpp).
Var embedding(const Var& table, const std::vector<int32_t>& ids);

}  // namespace mc
