// Line plots as standalone SVG files, drawn by the experiment binaries themselves (no plotting
// dependency): one line per series, styled by its method (method_style.h: colour, marker and
// dash, the same in every figure), optional horizontal reference lines (a baseline, labelled
// where the label meets no data, else in the legend), published points (hollow markers with
// their labels), vertical markers and shaded x intervals (a compression
// window), error bars (a spread over seeds; offset sideways where series share x values),
// linear or log axes with tick marks (minor ones on log axes), and a compact legend placed in
// the emptiest corner, or outside on the right when every corner holds data.
// Sizes are physical: the SVG's width and height are in inches, its viewBox in CSS pixels.
#pragma once

#include <string>
#include <vector>

namespace mc::plot {

struct Series {
  std::string label;
  std::vector<double> x, y;
  std::vector<double> y_err = {};  // empty, or one half-height per point: a bar from y - err to y + err
  bool markers = true;             // draw the method's marker at every point
  std::string method = {};         // the style key (method_style.h); empty: the label is the key
  double opacity = 1;              // < 1: drawn faint (raw values behind their smoothed curve)
  bool in_legend = true;
  size_t marker_every = 1;         // markers on every n-th point only (dense curves)
};

struct Line {
  std::string label;
  double value;
};

// A shaded interval of x (e.g. the compression window), labelled at the top.
struct Band {
  std::string label;
  double from, to;
};

// A published figure drawn beside the data (the reference's 84.3 % for low rank at 0.5): the
// method's marker, hollow, with its label beside it.
struct Reference {
  std::string label;   // "reference 84.3 %"
  double x, y;
  std::string method;  // the style key (method_style.h)
};

struct Figure {
  std::string title, x_label, y_label;
  bool log_x = false;
  std::vector<Series> series;
  std::vector<Line> horizontal;  // e.g. the uncompressed baseline
  std::vector<Line> vertical;    // e.g. "compression begins"
  double width = 720, height = 440;  // CSS pixels, 96 per inch (7.5 x 4.58 in)
  bool log_y = false;  // e.g. perplexity, whose log is the loss
  std::vector<Band> bands = {};
  double font_pt = 9;  // text size on the page; margins, lines and markers follow it
  std::vector<Reference> references = {};
};

// The drivers' --plot-width-in / --plot-height-in / --plot-font-pt.
struct PlotSize {
  double width_in = 7.5;
  double height_in = 0;  // 0: 0.61 of the width
  double font_pt = 9;
  void apply(Figure& figure) const;
};
// ValueError naming the flag for a size that cannot hold a plot.
void check_plot_size(const PlotSize& size);

std::string render_svg(const Figure& figure);
// Panels stacked top to bottom in one SVG (e.g. loss above accuracy, sharing the x axis):
// the first panel's width and title; each panel's own height.
std::string render_svg(const std::vector<Figure>& panels);
void write_svg(const std::string& path, const Figure& figure);  // atomic; SVG only (figure_files.h adds the PDF)

}  // namespace mc::plot
