// What the two softmax cross-entropy ops share (autograd's softmax_cross_entropy, exact exp;
// layers' fast_softmax_cross_entropy, vectorised exp): the checks on their arguments, and the
// graph node that holds the probabilities and carries the gradient back.
#pragma once

#include <cstdint>
#include <vector>

#include "matcomp/autograd/variable.h"

namespace mc {

// ShapeError unless logits are (n, classes) with n labels and no extent 0; ValueError naming
// the first label outside [0, classes) and its row. `op` names the op in the message.
void check_softmax_cross_entropy_args(const char* op, const Tensor& logits, const std::vector<int32_t>& labels);

// The loss node: value mean_loss, input logits, backward d loss / d z = (p - onehot(label)) / n
// with p the softmax probabilities (n, classes) that the forward computed.
Var record_softmax_cross_entropy(const Var& logits, Tensor probs, double mean_loss, std::vector<int32_t> labels);

}  // namespace mc
