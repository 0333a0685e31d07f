// One gradient-check harness for every op and layer.
//
// The function under test maps input Vars to an output Var of any shape. The harness reduces
// the output to a scalar L = sum(out * W) with a fixed random W, gets dL/dinput by backward,
// and compares it, on a random subset of entries, with a finite difference of L.
//
// Our kernels are float32, so a plain double-precision central difference is not available.
// Instead L is accumulated in double and the derivative uses the 4-point stencil
//   f'(x) ~ [8 (f(x+h) - f(x-h)) - (f(x+2h) - f(x-2h))] / (12 h),
// whose truncation error is O(h^4): with h ~ 1e-2 both truncation and float32 rounding stay
// around 1e-5 relative, which makes the check as tight as a float64 one and not flaky.
// Points where the function has a kink within the stencil (relu at 0, max-pool ties) are
// detected by comparing left and right one-sided slopes and skipped; too many skips fail.
// At least some analytic gradients must be non-zero: a check passing on zeros proves nothing.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "matcomp/autograd/variable.h"

namespace mc {

struct GradcheckOptions {
  int entries_per_input = 24;   // random subset checked per input (all if fewer)
  double step = 1e-2;           // h, relative to max(1, |x|)
  double atol = 2e-4;           // pass if |analytic - numeric| <= atol + rtol * |numeric|
  double rtol = 2e-3;
  double max_skipped_fraction = 0.34;
  uint64_t seed = 1234;
};

struct GradcheckResult {
  bool ok = true;
  std::string message;  // every failing entry, with input index, flat index, both values
  int checked = 0, skipped = 0, nonzero = 0;
};

using GradcheckFunction = std::function<Var(const std::vector<Var>&)>;

// Checks d f / d inputs[i] for every i where check[i] is true (all when check is empty).
GradcheckResult gradcheck(const GradcheckFunction& f, const std::vector<Tensor>& inputs,
                          const std::vector<bool>& check = {}, const GradcheckOptions& options = {});

}  // namespace mc
