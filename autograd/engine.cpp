// The backward pass: topological order over the recorded nodes, gradients summed per output,
// leaves accumulate, every node freed once it has run.
#include <unordered_map>
#include <unordered_set>

#include "matcomp/autograd/node.h"
#include "matcomp/core/error.h"

namespace mc {

namespace {

// Nodes reachable from root, ordered so that each node comes before the nodes of its inputs.
std::vector<Node*> topological_order(Node* root) {
  std::vector<Node*> post;
  std::unordered_set<Node*> seen{root};
  std::vector<std::pair<Node*, size_t>> stack{{root, 0}};
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->inputs().size()) {
      const Var& in = node->inputs()[next++];
      Node* child = in.impl() ? in.impl()->grad_fn.get() : nullptr;
      if (child && !child->released() && seen.insert(child).second) stack.emplace_back(child, 0);
    } else {
      post.push_back(node);
      stack.pop_back();
    }
  }
  return {post.rbegin(), post.rend()};
}

}  // namespace

void Var::backward() const {
  MC_CHECK(impl_ && value().numel() == 1, ShapeError,
           "backward() without a seed needs a one-element value, got shape "
               << to_string(impl_ ? value().shape() : Shape{}) << "; pass d out / d value as the seed");
  backward(Tensor::ones(value().shape()));
}

void Var::backward(const Tensor& seed) const {
  MC_CHECK(impl_, Error, "backward() of an undefined Var");
  MC_CHECK(seed.shape() == value().shape(), ShapeError,
           "backward seed of shape " << to_string(seed.shape()) << " for a value of shape " << to_string(value().shape()));
  if (is_leaf()) {
    if (impl_->requires_grad) accumulate(impl_->grad, seed);
    return;
  }
  Node* root = impl_->grad_fn.get();
  MC_CHECK(!root->released(), Error,
           "backward through '" << root->name() << "' a second time: the graph is freed after backward");
  // Keep every node alive until the pass ends, even as inputs are released.
  std::vector<std::shared_ptr<Node>> keep_alive;
  std::unordered_map<Node*, Grads> pending;
  pending[root].resize(static_cast<size_t>(root->num_outputs()));
  pending[root][static_cast<size_t>(impl_->output_index)] = seed;

  for (Node* node : topological_order(root)) {
    auto it = pending.find(node);
    if (it == pending.end()) continue;  // no gradient reached it
    Grads grad_outputs = std::move(it->second);
    pending.erase(it);
    grad_outputs.resize(static_cast<size_t>(node->num_outputs()));
    const std::vector<Var> inputs = node->inputs();
    Grads grads = node->apply(grad_outputs);
    node->release();
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (!grads[i].defined()) continue;
      const auto& in = inputs[i].impl();
      if (in->grad_fn) {
        keep_alive.push_back(in->grad_fn);
        Grads& slot = pending[in->grad_fn.get()];
        slot.resize(static_cast<size_t>(in->grad_fn->num_outputs()));
        accumulate_shared(slot[static_cast<size_t>(in->output_index)], grads[i]);
      } else if (in->requires_grad) {
        accumulate(in->grad, grads[i]);
      }
    }
  }
}

}  // namespace mc
