#include "experiments/lib/finite_check.h"

#include <cmath>
#include <sstream>

#include "matcomp/core/error.h"

namespace mc {

namespace {

// The first non-finite element of t, or -1.
int64_t first_bad_element(const Tensor& t) {
  const float* v = t.data();
  for (int64_t i = 0; i < t.numel(); ++i)
    if (!std::isfinite(v[i])) return i;
  return -1;
}

std::string describe(const char* kind, const std::string& name, const Tensor& t, int64_t at) {
  std::ostringstream o;
  const float v = t.data()[at];
  o << kind << " '" << name << "' holds " << (std::isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf") << " at element " << at
    << " of " << t.numel();
  return o.str();
}

}  // namespace

std::string first_non_finite(const Module& model) {
  for (const auto& [name, p] : model.named_parameters())
    if (const int64_t at = first_bad_element(p.value()); at >= 0) return describe("parameter", name, p.value(), at);
  for (const auto& [name, b] : model.named_buffers())
    if (b.numel() > 0)
      if (const int64_t at = first_bad_element(b); at >= 0) return describe("buffer", name, b, at);
  return "";
}

void check_model_finite(const Module& model, int64_t step, const std::string& when) {
  const std::string bad = first_non_finite(model);
  MC_CHECK(bad.empty(), ValueError, "step " << step << ", " << when << ": " << bad << " (not finite)");
}

}  // namespace mc
