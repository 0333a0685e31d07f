// The fused LSTM op: a whole window of T steps of one LSTM layer as a single autograd node.
//
//   gates_t = [x_t, h_{t-1}] W + b        W (in + hidden, 4 hidden), b (4 hidden)
//   i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of the four column blocks, in that order
//   c_t = f * c_{t-1} + i * g ;  h_t = o * tanh(c_t)
//
// Gate order is i, f, g, o (input, forget, cell candidate, output): column block k of W and b
// belongs to gate k. The input part x W[0:in] + b of all T steps is one big sgemm; each step
// then adds h_{t-1} W[in:] with one small sgemm. Backward runs through time inside the op and
// forms dW with two big sgemms at the end, so the graph holds one node per layer and window.
#pragma once

#include <vector>

#include "matcomp/autograd/variable.h"

namespace mc {

// x (T, B, in), w (in + hidden, 4 hidden), b (4 hidden), h0 and c0 (B, hidden).
// Returns {outputs (T, B, hidden), final h (B, hidden), final c (B, hidden)}.
std::vector<Var> lstm_sequence(const Var& x, const Var& w, const Var& b, const Var& h0, const Var& c0);

// The same computation composed from primitive autograd ops (concat, matmul, add, slice,
// sigmoid, tanh, mul), one step at a time. Slow; the reference the fused op is tested against.
std::vector<Var> lstm_sequence_composed(const Var& x, const Var& w, const Var& b, const Var& h0, const Var& c0);

}  // namespace mc
