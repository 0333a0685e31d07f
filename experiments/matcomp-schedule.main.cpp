// Shows what a compression schedule will do, before any training: alpha (blending methods)
// or target sparsity (pruning) at every update step, as a table and optionally an SVG plot.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>

#include "tools/cli/cli_conventions.h"
#include "matcomp/compression/schedule.h"
#include "matcomp/core/error.h"
#include "experiments/plot/figure_files.h"
#include "experiments/plot/svg_plot.h"

int main(int argc, char** argv) {
  CLI::App app{"Print (and plot) a compression schedule as a function of the training step"};
  mc::cli::setup(app, "matcomp-schedule");
  mc::BlendSchedule blend;
  mc::SparsitySchedule sparsity;
  sparsity.final_sparsity = 0.5;  // the library's default (-1) means "the compressor's", which needs a matrix
  bool prune = false;
  int64_t steps = 0;
  std::string svg;
  app.add_option("--begin", blend.begin_step, "begin_compression_step")->check(CLI::NonNegativeNumber);
  app.add_option("--end", blend.end_step, "end_compression_step (-1: never)");
  app.add_option("--frequency", blend.frequency, "steps between updates")->check(CLI::PositiveNumber);
  app.add_option("--alpha-decrement", blend.alpha_decrement, "alpha lowered by this at each update");
  app.add_flag("--prune", prune, "show the pruning sparsity schedule instead");
  app.add_option("--initial-sparsity", sparsity.initial_sparsity, "pruning: sparsity at begin");
  app.add_option("--final-sparsity", sparsity.final_sparsity, "pruning: sparsity at end (default 0.5)");
  app.add_option("--steps", steps, "last step to show (default: a little past the end of the schedule)");
  app.add_option("--svg", svg, "also draw the schedule into this SVG file (and FILE.pdf beside it when rsvg-convert is installed)");
  if (const int rc = mc::cli::parse(app, argc, argv); rc >= 0) return rc;
  try {
    mc::plot::Figure fig;
    mc::plot::Series series;
    if (prune) {
      sparsity.begin_step = blend.begin_step;
      sparsity.end_step = blend.end_step;
      sparsity.mask_frequency = blend.frequency;
      sparsity.validate();
      if (steps <= 0) steps = sparsity.end_step + (sparsity.end_step - sparsity.begin_step) / 5;
      std::printf("step,sparsity\n");
      const int64_t stride = std::max<int64_t>(1, steps / 1000);  // keep the SVG small
      for (int64_t s = 0; s <= steps; ++s) {
        if (sparsity.is_mask_update(s)) std::printf("%lld,%.6f\n", static_cast<long long>(s), sparsity.sparsity(s));
        if (s % stride == 0 || s == steps) {
          series.x.push_back(static_cast<double>(s));
          series.y.push_back(s < sparsity.begin_step ? 0.0 : sparsity.sparsity(s));
        }
      }
      series.label = "target sparsity";
      fig.y_label = "sparsity";
    } else {
      blend.validate();
      const int64_t sw = blend.switch_step();
      if (steps <= 0) steps = (sw >= 0 ? sw : blend.begin_step + 100 * blend.frequency) + 10 * blend.frequency;
      std::printf("step,alpha\n");
      // alpha is a staircase: two points per update (just before and at it) draw it exactly.
      series.x.push_back(0.0);
      series.y.push_back(1.0);
      for (int64_t s = 0; s <= steps; ++s) {
        if (!blend.is_update(s)) continue;
        std::printf("%lld,%.6f\n", static_cast<long long>(s), blend.alpha(s));
        series.x.push_back(static_cast<double>(s) - 1e-6);
        series.y.push_back(blend.alpha(s - 1));
        series.x.push_back(static_cast<double>(s));
        series.y.push_back(blend.alpha(s));
      }
      series.x.push_back(static_cast<double>(steps));
      series.y.push_back(blend.alpha(steps));
      std::fprintf(stderr, "factor at step %lld; alpha reaches 0 at step %lld%s\n", static_cast<long long>(blend.begin_step),
                   static_cast<long long>(sw), sw < 0 ? " (never: end_step comes first)" : "");
      series.label = "alpha";
      fig.y_label = "alpha (weight of the dense A)";
      fig.vertical.push_back({"factor A", static_cast<double>(blend.begin_step)});
      if (sw >= 0) fig.vertical.push_back({"A dropped", static_cast<double>(sw)});
    }
    if (!svg.empty()) {
      series.markers = false;
      fig.title = prune ? "Pruning schedule" : "Compression schedule: W = alpha A + (1 - alpha) B o C";
      fig.x_label = "training step";
      fig.series.push_back(series);
      mc::plot::write_figure(svg, fig);
    }
  } catch (const mc::IoError& e) {  // the SVG could not be written
    std::fprintf(stderr, "matcomp-schedule: error: %s\n", e.what());
    return mc::cli::kRuntimeError;
  } catch (const mc::Error& e) {  // a schedule the flags describe is invalid
    return mc::cli::usage_error("matcomp-schedule", e.what());
  }
  return 0;
}
