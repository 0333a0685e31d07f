#include "matcomp/autograd/gradcheck.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "matcomp/autograd/ops.h"
#include "matcomp/core/error.h"
#include "matcomp/core/rng.h"

namespace mc {

namespace {

// L = sum(out * w), accumulated in double.
double project(const Tensor& out, const Tensor& w) {
  double s = 0;
  for (int64_t i = 0; i < out.numel(); ++i) s += static_cast<double>(out.data()[i]) * w.data()[i];
  return s;
}

}  // namespace

GradcheckResult gradcheck(const GradcheckFunction& f, const std::vector<Tensor>& inputs, const std::vector<bool>& check,
                          const GradcheckOptions& opt) {
  Rng rng(opt.seed);
  GradcheckResult result;
  std::ostringstream msg;

  // Analytic gradients.
  std::vector<Var> vars;
  for (const Tensor& t : inputs) vars.emplace_back(t.clone(), true);
  Var out = f(vars);
  Tensor w = Tensor::empty(out.shape());
  rng.fill_uniform(w, -1.0f, 1.0f);
  sum(mul(out, Var(w))).backward();

  // Numerical gradients on fresh copies, one entry at a time.
  std::vector<Tensor> probe;
  for (const Tensor& t : inputs) probe.push_back(t.clone());
  const auto evaluate = [&]() {
    NoGradGuard no_grad;
    std::vector<Var> pv;
    for (const Tensor& t : probe) pv.emplace_back(t);
    return project(f(pv).value(), w);
  };
  const double base = evaluate();

  for (size_t k = 0; k < inputs.size(); ++k) {
    if (!check.empty() && !check[k]) continue;
    const Tensor& analytic = vars[k].grad();
    const int64_t n = inputs[k].numel();
    std::vector<int64_t> entries = rng.permutation(n);
    entries.resize(static_cast<size_t>(std::min<int64_t>(n, opt.entries_per_input)));
    int checked_here = 0, skipped_here = 0, nonzero_here = 0;
    for (int64_t idx : entries) {
      float& x = probe[k].data()[idx];
      const float x0 = x;
      const double h = opt.step * std::max(1.0, std::fabs(static_cast<double>(x0)));
      const auto at = [&](double offset) {
        x = static_cast<float>(x0 + offset);
        probe[k].mark_modified();
        return evaluate();
      };
      const double fp1 = at(h), fm1 = at(-h), fp2 = at(2 * h), fm2 = at(-2 * h);
      x = x0;
      probe[k].mark_modified();
      const double numeric = (8 * (fp1 - fm1) - (fp2 - fm2)) / (12 * h);
      // Kink detection: for a smooth f the second differences at scales h and 2h agree
      // ((f(x+h) - 2f(x) + f(x-h)) / h ~ (f(x+2h) - 2f(x) + f(x-2h)) / 4h ~ h f''), and so do
      // the central slopes at h and 2h. A kink inside the stencil breaks one or both.
      const double curvature_h = (fp1 - 2 * base + fm1) / h;
      const double curvature_2h = (fp2 - 2 * base + fm2) / (4 * h);
      const double slope_h = (fp1 - fm1) / (2 * h), slope_2h = (fp2 - fm2) / (4 * h);
      const double smooth_tol = 10 * (opt.atol + opt.rtol * std::fabs(numeric));
      if (std::fabs(curvature_h - curvature_2h) > smooth_tol || std::fabs(slope_h - slope_2h) > smooth_tol) {
        ++skipped_here;
        continue;
      }
      const double got = analytic.defined() ? analytic.data()[idx] : 0.0;
      ++checked_here;
      if (std::fabs(got) > 1e-6) ++nonzero_here;
      if (std::fabs(got - numeric) > opt.atol + opt.rtol * std::fabs(numeric)) {
        result.ok = false;
        msg << "input " << k << " " << to_string(inputs[k].shape()) << " entry " << idx << ": analytic " << got
            << " numeric " << numeric << "\n";
      }
    }
    result.checked += checked_here;
    result.skipped += skipped_here;
    result.nonzero += nonzero_here;
    if (nonzero_here == 0) {
      result.ok = false;
      msg << "input " << k << " " << to_string(inputs[k].shape())
          << ": no non-zero analytic gradient among the checked entries (a check on zeros proves nothing)\n";
    }
    const int total = checked_here + skipped_here;
    if (total > 0 && skipped_here > opt.max_skipped_fraction * total) {
      result.ok = false;
      msg << "input " << k << ": " << skipped_here << " of " << total
          << " entries sit at non-differentiable points; move the test inputs away from kinks\n";
    }
  }
  result.message = msg.str();
  return result;
}

}  // namespace mc
