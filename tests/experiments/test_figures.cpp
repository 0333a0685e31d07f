// The figures' look: one style per method (stable by name, distinct in colour, marker and
// dash, told apart in greyscale), a legend and baseline labels that cover no data, minor ticks
// on log axes, dodged error bars, physical sizes, and the PDF copy when a converter exists.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <regex>
#include <sstream>
#include <set>
#include <string>
#include <vector>

#include "matcomp/core/atomic_file.h"
#include "matcomp/core/error.h"
#include "experiments/plot/figure_files.h"
#include "experiments/plot/method_style.h"
#include "experiments/plot/svg_plot.h"

namespace fs = std::filesystem;
using mc::plot::Figure;
using mc::plot::method_style;
using mc::plot::Series;

namespace {

const std::vector<std::string> kKnown{"none", "lowrank", "simhash", "kmeans", "dictionary", "prune", "prune_grad", "quantize"};

struct Box {
  double x0, y0, x1, y1;
  bool contains(double x, double y) const { return x >= x0 && x <= x1 && y >= y0 && y <= y1; }
};

double attr(const std::string& element, const std::string& name) {
  const std::regex re(" " + name + "=\"([-0-9.e]+)\"");
  std::smatch m;
  if (!std::regex_search(element, m, re)) return NAN;
  return std::stod(m[1]);
}

// Every element of the SVG that starts with `start` (e.g. "<rect class=\"legend\"").
std::vector<std::string> elements(const std::string& svg, const std::string& start) {
  std::vector<std::string> out;
  for (size_t p = svg.find(start); p != std::string::npos; p = svg.find(start, p + 1)) out.push_back(svg.substr(p, svg.find('>', p) - p));
  return out;
}

Box rect_of(const std::string& element) {
  const double x = attr(element, "x"), y = attr(element, "y");
  return {x, y, x + attr(element, "width"), y + attr(element, "height")};
}

// The data points of every polyline, in page coordinates.
std::vector<std::pair<double, double>> polyline_points(const std::string& svg) {
  std::vector<std::pair<double, double>> pts;
  for (const std::string& e : elements(svg, "<polyline")) {
    const size_t at = e.find("points=\"");
    std::istringstream in(e.substr(at + 8));
    double x, y;
    char comma;
    while (in >> x >> comma >> y) pts.emplace_back(x, y);
  }
  return pts;
}

Box plot_area(const std::string& svg) {
  // The frame: the rect drawn with fill none and a dark stroke.
  for (const std::string& e : elements(svg, "<rect x="))
    if (e.find("fill=\"none\" stroke=\"#333\"") != std::string::npos) return rect_of(e);
  ADD_FAILURE() << "no plot frame in the SVG";
  return {};
}

}  // namespace

TEST(MethodStyle, StableByNameAndDistinctBetweenMethods) {
  std::set<std::string> colours, dashes;
  std::set<int> markers;
  for (const std::string& m : kKnown) {
    const auto a = method_style(m), b = method_style(m);
    EXPECT_EQ(a.colour, b.colour);
    EXPECT_TRUE(mc::plot::has_fixed_style(m)) << m;
    colours.insert(a.colour);
    markers.insert(static_cast<int>(a.marker));
    dashes.insert(a.dash);
  }
  EXPECT_EQ(colours.size(), kKnown.size()) << "two methods share a colour";
  EXPECT_EQ(markers.size(), kKnown.size()) << "two methods share a marker";
  EXPECT_EQ(dashes.size(), kKnown.size()) << "two methods share a dash pattern";
  // The baseline's names are one style.
  EXPECT_EQ(method_style("uncompressed").colour, method_style("none").colour);
  EXPECT_EQ(method_style("baseline").marker, method_style("none").marker);
  // A user's own method: a style from its name, the same every time, valid colour.
  EXPECT_FALSE(mc::plot::has_fixed_style("my_ternary"));
  const auto user = method_style("my_ternary");
  EXPECT_EQ(user.colour, method_style("my_ternary").colour);
  EXPECT_EQ(user.dash, method_style("my_ternary").dash);
  EXPECT_EQ(user.marker, method_style("my_ternary").marker);
  EXPECT_NO_THROW(mc::plot::luminance(user.colour));
  std::set<std::string> looks;  // different names spread over the table
  for (const char* name : {"ternary", "hashing_trick", "tt_decomposition", "binary", "pq", "svd_plus"}) {
    const auto s = method_style(name);
    looks.insert(s.colour + "|" + mc::plot::marker_name(s.marker) + "|" + s.dash);
  }
  EXPECT_GE(looks.size(), 5u);
}

TEST(MethodStyle, KnownMethodsStayApartInGreyscale) {
  // In greyscale a pair of methods is told apart by brightness, or else by marker and dash.
  for (size_t i = 0; i < kKnown.size(); ++i)
    for (size_t j = i + 1; j < kKnown.size(); ++j) {
      const auto a = method_style(kKnown[i]), b = method_style(kKnown[j]);
      const bool brightness = std::fabs(mc::plot::luminance(a.colour) - mc::plot::luminance(b.colour)) > 0.1;
      EXPECT_TRUE(brightness || (a.marker != b.marker && a.dash != b.dash)) << kKnown[i] << " vs " << kKnown[j];
    }
  EXPECT_NEAR(mc::plot::luminance("#000000"), 0.0, 1e-12);
  EXPECT_NEAR(mc::plot::luminance("#FFFFFF"), 1.0, 1e-12);
  EXPECT_THROW(mc::plot::luminance("blue"), mc::ValueError);
}

TEST(SvgPlot, SeriesAreStyledByMethodNotByPosition) {
  Figure a, b;
  const Series low{"lowrank-0.25", {1, 2}, {1, 2}, {}, true, "lowrank"}, km{"kmeans-0.25", {1, 2}, {2, 1}, {}, true, "kmeans"};
  a.series = {low, km};
  b.series = {km, low};
  const auto colour_of = [](const std::string& svg, const std::string& label) {
    // The legend's line sample before the label carries the series' colour.
    const size_t at = svg.find(">" + label + "<");
    const size_t line = svg.rfind("<line ", at);
    const size_t c = svg.find("stroke=\"", line);
    return svg.substr(c + 8, 7);
  };
  const std::string sa = mc::plot::render_svg(a), sb = mc::plot::render_svg(b);
  EXPECT_EQ(colour_of(sa, "lowrank-0.25"), method_style("lowrank").colour);
  EXPECT_EQ(colour_of(sb, "lowrank-0.25"), method_style("lowrank").colour);
  EXPECT_EQ(colour_of(sb, "kmeans-0.25"), method_style("kmeans").colour);
  EXPECT_NE(sa.find("data-shape=\"triangle\""), std::string::npos);  // kmeans' marker
}

TEST(SvgPlot, LegendGoesToTheEmptyCornerOrOutside) {
  // Points fill the top left, top right and bottom left; the bottom right is empty.
  Figure f;
  f.series.push_back({"lowrank", {0, 1, 2, 3, 4}, {10, 9, 10, 9, 10}});
  f.series.push_back({"kmeans", {0, 0.5, 1, 1.5, 2}, {0, 2, 4, 6, 8}});
  f.series.push_back({"prune", {0, 1, 2}, {1, 0, 1}});
  const std::string svg = mc::plot::render_svg(f);
  const auto legends = elements(svg, "<rect class=\"legend\"");
  ASSERT_EQ(legends.size(), 1u);
  const Box legend = rect_of(legends[0]), frame = plot_area(svg);
  for (const auto& [x, y] : polyline_points(svg)) EXPECT_FALSE(legend.contains(x, y)) << "data point " << x << "," << y << " under the legend";
  EXPECT_GT(legend.x0, (frame.x0 + frame.x1) / 2) << "not in the empty bottom-right corner";
  EXPECT_GT(legend.y0, (frame.y0 + frame.y1) / 2) << "not in the empty bottom-right corner";

  // Data in every corner: the legend moves outside the plot, on the right.
  Figure g;
  g.series.push_back({"lowrank", {0, 1, 2, 3, 4, 5, 6, 7, 8}, {0, 10, 0, 10, 0, 10, 0, 10, 0}});
  g.series.push_back({"simhash", {0, 1, 2, 3, 4, 5, 6, 7, 8}, {10, 0, 10, 0, 10, 0, 10, 0, 10}});
  const std::string out = mc::plot::render_svg(g);
  const Box outside = rect_of(elements(out, "<rect class=\"legend\"").at(0)), frame_g = plot_area(out);
  EXPECT_GE(outside.x0, frame_g.x1);
  EXPECT_LE(outside.x1, g.width);
  for (const auto& [x, y] : polyline_points(out)) EXPECT_FALSE(outside.contains(x, y));
}

TEST(SvgPlot, BaselineLabelAvoidsDataAndLegend) {
  // A series crossing the baseline's default spot (just above it at the left).
  Figure f;
  f.series.push_back({"lowrank", {0.05, 0.06, 0.07, 0.1, 0.25, 0.5}, {0.86, 0.86, 0.86, 0.8, 0.7, 0.6}});
  f.horizontal.push_back({"uncompressed", 0.85});
  f.log_x = true;
  const std::string svg = mc::plot::render_svg(f);
  const auto labels = elements(svg, "<text class=\"baseline-label\"");
  ASSERT_EQ(labels.size(), 1u);
  const double font = 12, x = attr(labels[0], "x"), y = attr(labels[0], "y");
  const Box text{x, y - font, x + 0.6 * font * 12, y + 0.2 * font};  // "uncompressed": 12 characters
  for (const auto& [px, py] : polyline_points(svg)) EXPECT_FALSE(text.contains(px, py)) << px << "," << py;
  for (const auto& l : elements(svg, "<rect class=\"legend\"")) {
    const Box legend = rect_of(l);
    EXPECT_FALSE(text.x0 < legend.x1 && legend.x0 < text.x1 && text.y0 < legend.y1 && legend.y0 < text.y1) << "label under the legend";
  }
}

TEST(SvgPlot, LogAxesHaveTickMarksAndMinorTicks) {
  Figure f;
  f.log_x = true;
  f.series.push_back({"lowrank", {0.01, 0.05, 0.2, 1}, {1, 2, 3, 4}});
  const std::string svg = mc::plot::render_svg(f);
  EXPECT_GE(elements(svg, "<line class=\"tick\"").size(), 6u);  // major ticks on both axes
  // 0.01 .. 1: 2..9 x 0.01 and 2..9 x 0.1, minus the labelled ones.
  EXPECT_GE(elements(svg, "<line class=\"tick-minor\"").size(), 8u);
  f.log_x = false;
  EXPECT_EQ(mc::plot::render_svg(f).find("tick-minor"), std::string::npos) << "minor ticks on a linear axis";
}

TEST(SvgPlot, ErrorBarsAtSharedXAreMovedApart) {
  Figure f;
  f.series.push_back({"lowrank", {0.1, 0.5}, {0.80, 0.83}, {0.01, 0.02}});
  f.series.push_back({"kmeans", {0.1, 0.5}, {0.81, 0.82}, {0.02, 0.01}});
  const std::string svg = mc::plot::render_svg(f);
  std::set<double> bar_x;
  for (const std::string& e : elements(svg, "<path class=\"error-bar\"")) {
    const size_t d = e.find("d=\"M");
    bar_x.insert(std::round(std::stod(e.substr(d + 4)) * 10) / 10);
  }
  EXPECT_EQ(bar_x.size(), 4u) << "bars of two series drawn over each other";
  // Achieved ratios a hair apart (two methods aimed at one target) are moved apart too.
  f.log_x = true;
  f.series[1].x = {0.1004, 0.4995};
  const std::string near = mc::plot::render_svg(f);
  std::vector<double> xs;
  for (const std::string& e : elements(near, "<path class=\"error-bar\"")) xs.push_back(std::stod(e.substr(e.find("d=\"M") + 4)));
  ASSERT_EQ(xs.size(), 4u);
  EXPECT_GT(std::fabs(xs[0] - xs[2]), 4.0) << "bars at 0.1 and 0.1004 overlap";
}

TEST(SvgPlot, SizeInInchesAndFontInPoints) {
  Figure f;
  f.series.push_back({"prune", {1, 2}, {3, 4}});
  mc::plot::PlotSize{3.3, 0, 8}.apply(f);
  const std::string svg = mc::plot::render_svg(f);
  EXPECT_NE(svg.find("width=\"3.3in\""), std::string::npos) << svg.substr(0, 300);
  EXPECT_NE(svg.find("viewBox=\"0 0 316.8 "), std::string::npos) << svg.substr(0, 300);
  EXPECT_NE(svg.find("font-size=\"10.6667\""), std::string::npos) << "8 pt is 10.67 CSS px";
  EXPECT_THROW(mc::plot::check_plot_size({0.5, 0, 8}), mc::ValueError);
  EXPECT_THROW(mc::plot::check_plot_size({3.3, 0, 1}), mc::ValueError);
  EXPECT_NO_THROW(mc::plot::check_plot_size({3.3, 2, 8}));
}

TEST(FigureFiles, PdfBesideTheSvgWhenAConverterExists) {
  if (mc::plot::pdf_converter().empty())
    GTEST_SKIP() << "rsvg-convert not found on PATH: install the Debian package librsvg2-bin to test PDF output";
  const std::string dir = (fs::temp_directory_path() / ("matcomp-figures-" + std::to_string(::getpid()))).string();
  fs::remove_all(dir);
  fs::create_directories(dir);
  Figure f;
  f.title = "a figure";
  f.series.push_back({"quantize", {1, 2, 3}, {3, 1, 2}});
  EXPECT_TRUE(mc::plot::write_figure(dir + "/fig.svg", f));
  ASSERT_TRUE(fs::exists(dir + "/fig.svg"));
  ASSERT_TRUE(fs::exists(dir + "/fig.pdf"));
  EXPECT_EQ(mc::read_file(dir + "/fig.pdf").rfind("%PDF", 0), 0u);
  for (const auto& e : fs::directory_iterator(dir)) EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << e.path();
  fs::remove_all(dir);
}
