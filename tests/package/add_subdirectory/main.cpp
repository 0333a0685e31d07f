// Links against matcomp from a parent project: one dense layer forward and backward.
#include <cstdio>

#include "matcomp/autograd/ops.h"
#include "matcomp/core/rng.h"
#include "matcomp/layers/dense.h"
#include "matcomp/layers/init.h"

int main() {
  mc::Rng rng(1);
  mc::Dense layer(mc::glorot_uniform(4, 3, rng));
  mc::Var x(mc::Tensor::ones({2, 4}));
  mc::Var loss = mc::sum(layer.forward(x));
  loss.backward();
  std::printf("uses_matcomp: loss %.4f\n", loss.value().item());
  return 0;
}
