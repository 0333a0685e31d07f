// add, sub, mul, div with broadcasting; neg, scale, add_scalar. Gradients of broadcast
// inputs are summed back to the input's shape by sum_to_shape().
#include "matcomp/autograd/broadcast.h"
#include "matcomp/autograd/elementwise_map.h"
#include "matcomp/autograd/node.h"
#include "matcomp/autograd/ops.h"

namespace mc {

Var add(const Var& a, const Var& b) {
  Tensor out = broadcast_binary(a.value(), b.value(), [](float x, float y) { return x + y; });
  return record("add", std::move(out), {a, b}, [sa = a.shape(), sb = b.shape()](const Grads& g, const Needs& need) {
    return Grads{need[0] ? sum_to_shape(g[0], sa) : Tensor(), need[1] ? sum_to_shape(g[0], sb) : Tensor()};
  });
}

Var sub(const Var& a, const Var& b) {
  Tensor out = broadcast_binary(a.value(), b.value(), [](float x, float y) { return x - y; });
  return record("sub", std::move(out), {a, b}, [sa = a.shape(), sb = b.shape()](const Grads& g, const Needs& need) {
    Tensor gb;
    if (need[1]) gb = sum_to_shape(elementwise_map(g[0], [](float v) { return -v; }), sb);
    return Grads{need[0] ? sum_to_shape(g[0], sa) : Tensor(), gb};
  });
}

Var mul(const Var& a, const Var& b) {
  Tensor out = broadcast_binary(a.value(), b.value(), [](float x, float y) { return x * y; });
  return record("mul", std::move(out), {a, b},
                [sa = SavedTensor(a.value(), "mul"), sb = SavedTensor(b.value(), "mul")](const Grads& g, const Needs& need) {
                  const auto times = [](float x, float y) { return x * y; };
                  Tensor ga, gb;
                  if (need[0]) ga = sum_to_shape(broadcast_binary(g[0], sb.get(), times), sa.get().shape());
                  if (need[1]) gb = sum_to_shape(broadcast_binary(g[0], sa.get(), times), sb.get().shape());
                  return Grads{ga, gb};
                });
}

Var div(const Var& a, const Var& b) {
  Tensor out = broadcast_binary(a.value(), b.value(), [](float x, float y) { return x / y; });
  SavedTensor saved_out(out, "div");
  return record("div", std::move(out), {a, b},
                [sa = a.shape(), sb = SavedTensor(b.value(), "div"), saved_out](const Grads& g, const Needs& need) {
                  Tensor ga, gb;
                  // d(a/b)/da = 1/b ; d(a/b)/db = -(a/b)/b
                  if (need[0]) ga = sum_to_shape(broadcast_binary(g[0], sb.get(), [](float x, float y) { return x / y; }), sa);
                  if (need[1]) {
                    Tensor q = broadcast_binary(saved_out.get(), sb.get(), [](float x, float y) { return -x / y; });
                    gb = sum_to_shape(broadcast_binary(g[0], q, [](float x, float y) { return x * y; }), sb.get().shape());
                  }
                  return Grads{ga, gb};
                });
}

Var neg(const Var& x) { return scale(x, -1.0f); }

Var scale(const Var& x, float factor) {
  Tensor out = elementwise_map(x.value(), [factor](float v) { return v * factor; });
  return record("scale", std::move(out), {x}, [factor](const Grads& g, const Needs&) {
    return Grads{elementwise_map(g[0], [factor](float v) { return v * factor; })};
  });
}

Var add_scalar(const Var& x, float value) {
  Tensor out = elementwise_map(x.value(), [value](float v) { return v + value; });
  return record("add_scalar", std::move(out), {x}, [](const Grads& g, const Needs&) { return Grads{g[0]}; });
}

}  // namespace mc
