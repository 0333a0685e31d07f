// Line plots as standalone SVG files, drawn by the experiment binaries themselves (no plotting
// dependency): one line per series, optional horizontal reference lines (a baseline) and
// vertical markers (a compression event), error bars (a spread over seeds), linear or log
// axes, a legend.
#pragma once

#include <string>
#include <vector>

namespace mc::plot {

struct Series {
  std::string label;
  std::vector<double> x, y;
  std::vector<double> y_err = {};  // empty, or one half-height per point: a bar from y - err to y + err
  bool markers = true;             // draw a dot at every point
};

struct Line {
  std::string label;
  double value;
};

struct Figure {
  std::string title, x_label, y_label;
  bool log_x = false;
  std::vector<Series> series;
  std::vector<Line> horizontal;  // e.g. the uncompressed baseline
  std::vector<Line> vertical;    // e.g. "compression begins"
  int width = 720, height = 440;
  bool log_y = false;  // e.g. perplexity, whose log is the loss
};

std::string render_svg(const Figure& figure);
void write_svg(const std::string& path, const Figure& figure);  // atomic

}  // namespace mc::plot
