#include "experiments/plot/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "matcomp/core/atomic_file.h"
#include "matcomp/core/error.h"
#include "experiments/plot/method_style.h"

namespace mc::plot {

namespace {

constexpr double kPxPerInch = 96, kPxPerPt = 96.0 / 72.0;

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

std::string fmt(double v) {
  char buf[32];
  const double a = std::fabs(v);
  if (a >= 1e4 && std::fmod(a, 100.0) == 0) std::snprintf(buf, sizeof buf, "%gk", v / 1000);  // steps: "40k", "24.5k"
  else if (a != 0 && (a < 1e-3 || a >= 1e5)) std::snprintf(buf, sizeof buf, "%.2g", v);
  else std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

// "Nice" tick positions covering [lo, hi] (about `count` of them).
std::vector<double> nice_ticks(double lo, double hi, int count) {
  const double span = hi - lo;
  if (!(span > 0)) return {lo};
  const double raw = span / count;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  const double step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step) * step; t <= hi + 1e-9 * span; t += step) ticks.push_back(std::fabs(t) < 1e-12 * span ? 0 : t);
  return ticks;
}

// Tick values for a log axis whose bounds are [lo, hi] in log10 units. The sparsest
// per-decade set that still gives `min_count` ticks wins; a range shorter than a factor
// of about 2 (perplexity 105 to 200, files of 8 to 17 MB) gets evenly spaced values instead,
// which a log axis places fine and which say more than one lone "10".
std::vector<double> log_ticks(double lo, double hi, size_t min_count, int linear_count = 6) {
  static const std::vector<std::vector<double>> kMantissas = {{1.0}, {1.0, 2.0, 5.0}, {1.0, 1.5, 2.0, 3.0, 5.0, 7.0}};
  for (const auto& mantissas : kMantissas) {
    std::vector<double> ticks;
    for (double e = std::floor(lo); e <= hi; e += 1)
      for (double m : mantissas) {
        const double v = std::log10(m) + e;
        if (v >= lo && v <= hi) ticks.push_back(std::pow(10.0, v));
      }
    if (ticks.size() >= min_count) return ticks;
  }
  std::vector<double> ticks;
  for (double t : nice_ticks(std::pow(10.0, lo), std::pow(10.0, hi), linear_count))
    if (t > 0) ticks.push_back(t);
  return ticks;
}

// Unlabelled minor ticks of a log axis: 2..9 times each power of ten in [lo, hi] (log10
// units), those not already major ticks; none over more than 6 decades (they would blur).
std::vector<double> log_minor_ticks(double lo, double hi, const std::vector<double>& major) {
  std::vector<double> out;
  if (hi - lo > 6) return out;
  for (double e = std::floor(lo); e <= hi; e += 1)
    for (int m = 1; m <= 9; ++m) {
      const double v = std::log10(static_cast<double>(m)) + e;
      if (v < lo || v > hi) continue;
      const double value = std::pow(10.0, v);
      const bool is_major = std::any_of(major.begin(), major.end(), [&](double t) { return std::fabs(t - value) <= 1e-9 * value; });
      if (!is_major) out.push_back(value);
    }
  return out;
}

struct Rect {
  double x0, y0, x1, y1;
  bool contains(double x, double y) const { return x >= x0 && x <= x1 && y >= y0 && y <= y1; }
  bool overlaps(const Rect& o) const { return x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1; }
  Rect grown(double d) const { return {x0 - d, y0 - d, x1 + d, y1 + d}; }
};

// Approximate width of a text in the sans-serif font (DejaVu Sans averages a little over
// 0.6 em a character; the estimate errs wide so boxes hold their text).
double text_width(const std::string& s, double font) { return 0.65 * font * static_cast<double>(s.size()); }

// An SVG shape for a marker centred at (x, y) of radius r.
std::string marker_svg(Marker m, double x, double y, double r, const std::string& colour, double opacity) {
  std::ostringstream o;
  const std::string op = opacity < 1 ? " opacity=\"" + std::to_string(opacity) + "\"" : "";
  const auto path = [&](const std::string& d, bool filled) {
    o << "<path class=\"marker\" data-shape=\"" << marker_name(m) << "\" d=\"" << d << "\""
      << (filled ? " fill=\"" + colour + "\"" : " fill=\"none\" stroke=\"" + colour + "\" stroke-width=\"" + std::to_string(r / 2.2) + "\"")
      << op << "/>";
  };
  std::ostringstream d;
  switch (m) {
    case Marker::None: return "";
    case Marker::Circle:
      o << "<circle class=\"marker\" data-shape=\"circle\" cx=\"" << x << "\" cy=\"" << y << "\" r=\"" << r << "\" fill=\"" << colour
        << "\"" << op << "/>";
      return o.str();
    case Marker::Square: d << "M" << x - 0.85 * r << "," << y - 0.85 * r << "h" << 1.7 * r << "v" << 1.7 * r << "h" << -1.7 * r << "Z"; break;
    case Marker::Triangle: d << "M" << x << "," << y - 1.2 * r << "L" << x + 1.1 * r << "," << y + 0.8 * r << "L" << x - 1.1 * r << "," << y + 0.8 * r << "Z"; break;
    case Marker::TriangleDown: d << "M" << x << "," << y + 1.2 * r << "L" << x + 1.1 * r << "," << y - 0.8 * r << "L" << x - 1.1 * r << "," << y - 0.8 * r << "Z"; break;
    case Marker::Diamond: d << "M" << x << "," << y - 1.25 * r << "L" << x + r << "," << y << "L" << x << "," << y + 1.25 * r << "L" << x - r << "," << y << "Z"; break;
    case Marker::Cross: d << "M" << x - r << "," << y - r << "L" << x + r << "," << y + r << "M" << x - r << "," << y + r << "L" << x + r << "," << y - r; break;
    case Marker::Plus: d << "M" << x - 1.2 * r << "," << y << "H" << x + 1.2 * r << "M" << x << "," << y - 1.2 * r << "V" << y + 1.2 * r; break;
    case Marker::Star:
      for (int i = 0; i < 10; ++i) {  // five points, inner radius 0.45
        const double a = -M_PI / 2 + i * M_PI / 5, rr = (i % 2 ? 0.5 : 1.3) * r;
        d << (i ? "L" : "M") << x + rr * std::cos(a) << "," << y + rr * std::sin(a);
      }
      d << "Z";
      break;
  }
  path(d.str(), m != Marker::Cross && m != Marker::Plus);
  return o.str();
}

// The same marker hollow (white inside, the colour as its outline): a published point.
std::string hollow_marker_svg(Marker m, double x, double y, double r, const std::string& colour) {
  // Line shapes (cross, plus) have no inside: they stay as they are.
  if (m == Marker::Cross || m == Marker::Plus) return "<g class=\"reference\">" + marker_svg(m, x, y, r, colour, 1) + "</g>";
  std::string svg = marker_svg(m == Marker::None ? Marker::Circle : m, x, y, r, "white", 1);
  svg.insert(svg.rfind("/>"), " stroke=\"" + colour + "\" stroke-width=\"" + std::to_string(r / 2.5) + "\"");
  return "<g class=\"reference\">" + svg + "</g>";
}

// A dash pattern scaled to the line width (the table's patterns are for width 2).
std::string scaled_dash(const std::string& dash, double line_width) {
  if (dash.empty()) return "";
  std::ostringstream o;
  std::stringstream in(dash);
  bool first = true;
  for (std::string item; std::getline(in, item, ',');) {
    o << (first ? "" : ",") << std::stod(item) * line_width / 2;
    first = false;
  }
  return o.str();
}

// The axes' value ranges in axis coordinates (log10 of the value on a log axis).
struct Bounds {
  double x0, x1, y0, y1;
};

// What every drawing step of a panel needs: the figure, the axes' bounds, the plot area on
// the page, the text size and the obstacles (sample points along every line, marker and bar)
// that labels and the legend keep clear of.
struct Panel {
  Panel(const Figure& figure, double w, double y, double h)
      : f(figure), width(w), top_y(y), height(h), font(figure.font_pt * kPxPerPt), line_width(std::max(1.0, font / 6)),
        marker_r(0.3 * font) {}
  const Figure& f;
  double width, top_y, height;
  double font, line_width, marker_r;
  Bounds b{0, 1, 0, 1};
  double top = 0, bottom = 0, left = 0, right = 0, pw = 0, ph = 0;
  std::vector<double> yt;            // y ticks
  std::vector<double> dodge;         // sideways offset per series (shared error-bar positions)
  std::vector<size_t> entries;       // series in the legend
  std::vector<std::string> extra_entries;  // reference lines moved into the legend (label, no series)
  double row_h = 0, sample_w = 0, legend_w = 0, legend_h = 0;
  Rect legend{0, 0, 0, 0};
  size_t legend_columns = 1;
  double added_height = 0;           // a legend below the plot adds its rows to the panel
  std::vector<std::pair<double, double>> obstacles;       // along the data: series, bars, references
  std::vector<std::pair<double, double>> line_obstacles;  // along the horizontal reference lines
  std::vector<Rect> taken;           // text and the legend, which later labels avoid

  double tx(double x) const { return f.log_x ? std::log10(x) : x; }
  double ty(double y) const { return f.log_y ? std::log10(y) : y; }
  bool drawable(double x, double y) const {
    return std::isfinite(x) && std::isfinite(y) && (!f.log_x || x > 0) && (!f.log_y || y > 0);
  }
  double px(double x) const { return left + (tx(x) - b.x0) / (b.x1 - b.x0) * pw; }
  double page_y(double axis_y) const { return top + (1 - (axis_y - b.y0) / (b.y1 - b.y0)) * ph; }
  double py(double y) const { return page_y(ty(y)); }
  std::vector<std::pair<double, double>> sorted_points(const Series& s) const {
    std::vector<std::pair<double, double>> pts;
    for (size_t i = 0; i < s.x.size(); ++i)
      if (drawable(s.x[i], s.y[i])) pts.emplace_back(s.x[i], s.y[i]);
    std::sort(pts.begin(), pts.end());
    return pts;
  }
  size_t count_inside(const Rect& r) const {
    size_t n = 0;
    for (const auto& [x, y] : obstacles) n += r.contains(x, y);
    for (const auto& [x, y] : line_obstacles) n += r.contains(x, y);
    return n;
  }
};

// The smallest ranges holding every drawable point, bar, reference line, marker and band,
// padded a little so nothing sits on the frame.
Bounds data_bounds(const Panel& p) {
  const Figure& f = p.f;
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  const auto take = [&](double x, double y) {
    x0 = std::min(x0, p.tx(x)), x1 = std::max(x1, p.tx(x)), y0 = std::min(y0, p.ty(y)), y1 = std::max(y1, p.ty(y));
  };
  for (const Series& s : f.series) {
    MC_CHECK(s.x.size() == s.y.size(), ValueError, "plot series '" << s.label << "': x and y differ in length");
    MC_CHECK(s.y_err.empty() || s.y_err.size() == s.y.size(), ValueError,
             "plot series '" << s.label << "': " << s.y_err.size() << " error bars for " << s.y.size() << " points");
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!p.drawable(s.x[i], s.y[i])) continue;
      take(s.x[i], s.y[i]);
      if (!s.y_err.empty() && std::isfinite(s.y_err[i])) {
        const double lo = s.y[i] - s.y_err[i], hi = s.y[i] + s.y_err[i];
        if (!f.log_y || lo > 0) y0 = std::min(y0, p.ty(lo));
        y1 = std::max(y1, p.ty(hi));
      }
    }
  }
  for (const Reference& r : f.references)
    if (p.drawable(r.x, r.y)) take(r.x, r.y);
  for (const Line& l : f.horizontal)
    if (!f.log_y || l.value > 0) y0 = std::min(y0, p.ty(l.value)), y1 = std::max(y1, p.ty(l.value));
  for (const Line& l : f.vertical)
    if (!f.log_x || l.value > 0) x0 = std::min(x0, p.tx(l.value)), x1 = std::max(x1, p.tx(l.value));
  for (const Band& band : f.bands)
    if (!f.log_x || band.from > 0) x0 = std::min(x0, p.tx(band.from)), x1 = std::max(x1, p.tx(band.to));
  if (!std::isfinite(x0)) x0 = 0, x1 = 1;
  if (!std::isfinite(y0)) y0 = 0, y1 = 1;
  if (x1 == x0) x0 -= 0.5, x1 += 0.5;
  if (y1 == y0) y0 -= 0.5, y1 += 0.5;
  const double pad_y = 0.06 * (y1 - y0), pad_x = 0.03 * (x1 - x0);
  return {x0 - pad_x, x1 + pad_x, y0 - pad_y, y1 + pad_y};
}

// The plot's height and left margin for `below` extra height under it: the y tick labels'
// width sets the margin, the height the number of y ticks.
void set_height(Panel& p, double title_h, double below) {
  p.ph = p.height - title_h - p.bottom - below;
  const int y_count = std::clamp(static_cast<int>(p.ph / (3 * p.font)), 3, 6);
  p.yt = p.f.log_y ? log_ticks(p.b.y0, p.b.y1, 4) : nice_ticks(p.b.y0, p.b.y1, y_count);
  double label_w = 0;
  for (double t : p.yt) label_w = std::max(label_w, text_width(fmt(t), p.font));
  p.left = 1.9 * p.font + label_w + 0.6 * p.font;
}

// Series with error bars at the same or nearly the same x (within 1 % of the axis: the
// achieved ratios of two methods aimed at one target) are moved apart sideways (dodged), so
// no bar hides another.
std::vector<double> dodge_offsets(const Panel& p) {
  const Figure& f = p.f;
  std::vector<double> dodge(f.series.size(), 0.0);
  std::vector<size_t> with_bars;
  for (size_t k = 0; k < f.series.size(); ++k) {
    const auto& e = f.series[k].y_err;
    if (std::any_of(e.begin(), e.end(), [](double v) { return v > 0; })) with_bars.push_back(k);
  }
  bool shared = false;
  for (size_t a = 0; a < with_bars.size() && !shared; ++a)
    for (size_t c = a + 1; c < with_bars.size() && !shared; ++c)
      for (double xa : f.series[with_bars[a]].x)
        for (double xb : f.series[with_bars[c]].x)
          if (p.drawable(xa, 1) && p.drawable(xb, 1) && std::fabs(p.tx(xa) - p.tx(xb)) <= 0.01 * (p.b.x1 - p.b.x0)) shared = true;
  if (shared)
    for (size_t i = 0; i < with_bars.size(); ++i)
      dodge[with_bars[i]] = (static_cast<double>(i) - (static_cast<double>(with_bars.size()) - 1) / 2) * 0.5 * p.font;
  return dodge;
}

void collect_obstacles(Panel& p) {
  const Figure& f = p.f;
  p.obstacles.clear();
  p.line_obstacles.clear();
  const double spacing = 0.4 * p.font;
  const auto add_segment = [&](double ax, double ay, double bx, double by, bool reference_line = false) {
    const int n = 1 + static_cast<int>(std::hypot(bx - ax, by - ay) / spacing);
    for (int i = 0; i <= n; ++i) {
      const double t = static_cast<double>(i) / n;
      (reference_line ? p.line_obstacles : p.obstacles).emplace_back(ax + t * (bx - ax), ay + t * (by - ay));
    }
  };
  for (size_t k = 0; k < f.series.size(); ++k) {
    const Series& s = f.series[k];
    const auto pts = p.sorted_points(s);
    for (size_t i = 0; i < pts.size(); ++i) {
      const double x = p.px(pts[i].first) + p.dodge[k], y = p.py(pts[i].second);
      p.obstacles.emplace_back(x, y);
      if (i > 0) add_segment(p.px(pts[i - 1].first) + p.dodge[k], p.py(pts[i - 1].second), x, y);
    }
    for (size_t i = 0; i < s.y_err.size(); ++i)
      if (p.drawable(s.x[i], s.y[i]) && s.y_err[i] > 0 && std::isfinite(s.y_err[i])) {
        const double x = p.px(s.x[i]) + p.dodge[k];
        const double lo = s.y[i] - s.y_err[i];
        add_segment(x, f.log_y && !(lo > 0) ? p.page_y(p.b.y0) : p.py(lo), x, p.py(s.y[i] + s.y_err[i]));
      }
  }
  for (const Reference& r : f.references)
    if (p.drawable(r.x, r.y)) p.obstacles.emplace_back(p.px(r.x), p.py(r.y));
  for (const Line& l : f.horizontal)
    if (!f.log_y || l.value > 0) add_segment(p.left, p.py(l.value), p.left + p.pw, p.py(l.value), true);
}

// The legend's entries and the box they need.
void size_legend(Panel& p) {
  double entry_chars = 0;
  for (size_t k = 0; k < p.f.series.size(); ++k)
    if (p.f.series[k].in_legend && !p.f.series[k].label.empty()) {
      p.entries.push_back(k);
      entry_chars = std::max(entry_chars, static_cast<double>(p.f.series[k].label.size()));
    }
  for (const std::string& e : p.extra_entries) entry_chars = std::max(entry_chars, static_cast<double>(e.size()));
  p.row_h = 1.35 * p.font, p.sample_w = 2.4 * p.font;
  p.legend_w = 0.65 * p.font * entry_chars + p.sample_w + 1.2 * p.font;
  p.legend_h = static_cast<double>(p.entries.size() + p.extra_entries.size()) * p.row_h + 0.5 * p.font;
}

// Three layouts, the first that works: the legend inside the plot in a corner without data;
// outside on the right when that leaves the plot most of the width; else below the plot, in
// as many columns as fit (narrow paper figures).
void place_legend(Panel& p) {
  const size_t count = p.entries.size() + p.extra_entries.size();
  for (int attempt = 0; attempt < 3; ++attempt) {
    const bool outside = attempt == 1, below = attempt == 2;
    const double column_w = p.legend_w - 0.5 * p.font;
    p.legend_columns = below ? std::max<size_t>(1, static_cast<size_t>((p.width - 1.8 * p.font) / column_w)) : 1;
    p.legend_columns = std::min(p.legend_columns, std::max<size_t>(1, count));
    const size_t rows = below ? (count + p.legend_columns - 1) / p.legend_columns : 0;
    const double below_h = below ? static_cast<double>(rows) * p.row_h + 0.8 * p.font : 0;
    p.added_height = below_h;
    p.right = 0.9 * p.font + (outside ? p.legend_w + 0.8 * p.font : 0);
    p.pw = p.width - p.left - p.right;
    collect_obstacles(p);
    if (count == 0) return;
    if (outside) {
      if (p.pw < 0.55 * p.width) continue;  // the plot would be squeezed: below instead
      const double x = p.left + p.pw + 0.8 * p.font;
      p.legend = {x, p.top, x + p.legend_w, p.top + p.legend_h};
      return;
    }
    if (below) {
      const double w = static_cast<double>(p.legend_columns) * column_w + 0.5 * p.font;
      const double x = std::max(0.3 * p.font, std::min(p.left + p.pw / 2 - w / 2, p.width - w - 0.3 * p.font));
      p.legend = {x, p.top + p.ph + p.bottom - 0.2 * p.font, x + w, p.top + p.ph + p.bottom + below_h - 0.6 * p.font};
      return;
    }
    const double inset = 0.4 * p.font, l = p.left, r = p.left + p.pw, t = p.top, b = p.top + p.ph;
    const Rect corners[] = {{r - inset - p.legend_w, t + inset, r - inset, t + inset + p.legend_h},
                            {l + inset, t + inset, l + inset + p.legend_w, t + inset + p.legend_h},
                            {r - inset - p.legend_w, b - inset - p.legend_h, r - inset, b - inset},
                            {l + inset, b - inset - p.legend_h, l + inset + p.legend_w, b - inset}};
    if (p.legend_w >= 0.6 * p.pw || p.legend_h >= 0.6 * p.ph) continue;
    for (const Rect& c : corners)
      if (p.count_inside(c.grown(0.3 * p.font + p.marker_r)) == 0) {  // a marker's edge counts too
        p.legend = c;
        return;
      }
  }
}

// The title centres over the plot area, moved as far as a long title needs to stay on the
// page, and set smaller if it is wider than the page.
void draw_title(std::ostringstream& o, const Panel& p) {
  const double title_chars = static_cast<double>(p.f.title.size());
  // Bold text is wider than regular: about 0.68 em a character.
  const double title_size = std::min(1.25 * p.font, (p.width - 16) / (0.68 * std::max(title_chars, 1.0)));
  const double half = 0.34 * title_size * title_chars;
  const double x = std::min(std::max(p.left + p.pw / 2, half + 8), p.width - half - 8);
  o << "<text x=\"" << x << "\" y=\"" << p.top_y + 1.8 * p.font << "\" text-anchor=\"middle\" font-size=\"" << title_size
    << "\" font-weight=\"bold\">" << escape(p.f.title) << "</text>\n";
}

// Shaded bands, under everything else.
void draw_bands(std::ostringstream& o, Panel& p) {
  for (const Band& band : p.f.bands) {
    if (p.f.log_x && !(band.from > 0)) continue;
    const double a = std::max(p.left, p.px(band.from)), z = std::min(p.left + p.pw, p.px(band.to));
    o << "<rect class=\"band\" x=\"" << a << "\" y=\"" << p.top << "\" width=\"" << std::max(0.0, z - a) << "\" height=\"" << p.ph
      << "\" fill=\"#000000\" fill-opacity=\"0.08\"/>\n";
    if (band.label.empty()) continue;
    const double tw = text_width(band.label, 0.85 * p.font);
    const double lx = std::min(a + 0.3 * p.font, p.left + p.pw - tw - 0.3 * p.font);
    o << "<text x=\"" << lx << "\" y=\"" << p.top + 1.1 * p.font << "\" font-size=\"" << 0.85 * p.font << "\" fill=\"#444\">"
      << escape(band.label) << "</text>\n";
    p.taken.push_back({lx, p.top, lx + tw, p.top + 1.3 * p.font});
  }
}

// Grid, tick marks and tick labels of both axes, and the frame.
void draw_axes(std::ostringstream& o, const Panel& p) {
  const Figure& f = p.f;
  const double tick = 0.4 * p.font, minor_tick = 0.25 * p.font, l = p.left, r = p.left + p.pw, t = p.top, b = p.top + p.ph;
  for (double v : p.yt) {
    o << "<line x1=\"" << l << "\" x2=\"" << r << "\" y1=\"" << p.py(v) << "\" y2=\"" << p.py(v) << "\" stroke=\"#e5e5e5\"/>\n";
    o << "<line class=\"tick\" x1=\"" << l - tick << "\" x2=\"" << l << "\" y1=\"" << p.py(v) << "\" y2=\"" << p.py(v)
      << "\" stroke=\"#333\"/>\n";
    o << "<text class=\"tick-label\" x=\"" << l - tick - 0.25 * p.font << "\" y=\"" << p.py(v) + 0.33 * p.font
      << "\" text-anchor=\"end\">" << fmt(v) << "</text>\n";
  }
  if (f.log_y)
    for (double v : log_minor_ticks(p.b.y0, p.b.y1, p.yt))
      o << "<line class=\"tick-minor\" x1=\"" << l - minor_tick << "\" x2=\"" << l << "\" y1=\"" << p.py(v) << "\" y2=\"" << p.py(v)
        << "\" stroke=\"#333\"/>\n";
  const int x_count = std::clamp(static_cast<int>(p.pw / (5 * p.font)), 3, 7);
  const std::vector<double> xt = f.log_x ? log_ticks(p.b.x0, p.b.x1, 4, x_count) : nice_ticks(p.b.x0, p.b.x1, x_count);
  // Labels on every tick where they fit side by side, else on every 2nd, 3rd... tick.
  size_t label_every = 1;
  double widest = 0, closest = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < xt.size(); ++i) {
    widest = std::max(widest, text_width(fmt(xt[i]), p.font));
    if (i > 0) closest = std::min(closest, p.px(xt[i]) - p.px(xt[i - 1]));
  }
  while (label_every < xt.size() && closest * static_cast<double>(label_every) < widest + 0.6 * p.font) ++label_every;
  for (size_t i = 0; i < xt.size(); ++i) {
    const double x = p.px(xt[i]);
    o << "<line y1=\"" << t << "\" y2=\"" << b << "\" x1=\"" << x << "\" x2=\"" << x << "\" stroke=\"#e5e5e5\"/>\n";
    o << "<line class=\"tick\" y1=\"" << b << "\" y2=\"" << b + tick << "\" x1=\"" << x << "\" x2=\"" << x << "\" stroke=\"#333\"/>\n";
    if (i % label_every == 0)
      o << "<text class=\"tick-label\" x=\"" << x << "\" y=\"" << b + tick + 1.05 * p.font << "\" text-anchor=\"middle\">"
        << fmt(xt[i]) << "</text>\n";
  }
  if (f.log_x)
    for (double v : log_minor_ticks(p.b.x0, p.b.x1, xt))
      o << "<line class=\"tick-minor\" y1=\"" << b << "\" y2=\"" << b + minor_tick << "\" x1=\"" << p.px(v) << "\" x2=\"" << p.px(v)
        << "\" stroke=\"#333\"/>\n";
  o << "<rect x=\"" << l << "\" y=\"" << t << "\" width=\"" << p.pw << "\" height=\"" << p.ph << "\" fill=\"none\" stroke=\"#333\"/>\n";
}

// A label split at the space nearest its middle when it is longer than `room` at full size:
// axis labels keep the tick labels' size (never smaller) and take a second line instead.
std::vector<std::string> wrap_label(const std::string& text, double room, double font) {
  if (text_width(text, font) <= room) return {text};
  size_t best = std::string::npos;
  for (size_t i = text.find(' '); i != std::string::npos; i = text.find(' ', i + 1))
    if (best == std::string::npos || std::abs(static_cast<long>(i) - static_cast<long>(text.size() / 2)) <
                                         std::abs(static_cast<long>(best) - static_cast<long>(text.size() / 2)))
      best = i;
  if (best == std::string::npos) return {text};
  return {text.substr(0, best), text.substr(best + 1)};
}

// The axis labels, at the tick labels' size.
void draw_axis_labels(std::ostringstream& o, const Panel& p) {
  const Figure& f = p.f;
  const std::string x_label = f.x_label + (f.log_x ? " (log scale)" : ""), y_label = f.y_label + (f.log_y ? " (log scale)" : "");
  const auto x_lines = wrap_label(x_label, p.width - 1.0 * p.font, p.font);
  double y = p.top + p.ph + p.bottom - 1.1 * p.font - (static_cast<double>(x_lines.size()) - 1) * 1.15 * p.font;  // under the ticks
  for (const std::string& line : x_lines) {
    const double half = 0.33 * p.font * static_cast<double>(line.size());
    o << "<text class=\"axis-label\" x=\"" << std::clamp(p.left + p.pw / 2, half, p.width - half) << "\" y=\"" << y
      << "\" text-anchor=\"middle\">" << escape(line) << "</text>\n";
    y += 1.15 * p.font;
  }
  const auto y_lines = wrap_label(y_label, p.ph + 1.5 * p.font, p.font);
  double x = 1.3 * p.font - (static_cast<double>(y_lines.size()) - 1) * 1.15 * p.font / 2;
  for (const std::string& line : y_lines) {
    o << "<text class=\"axis-label\" transform=\"translate(" << std::max(0.9 * p.font, x) << "," << p.top + p.ph / 2
      << ") rotate(-90)\" text-anchor=\"middle\">" << escape(line) << "</text>\n";
    x += 1.15 * p.font;
  }
}

// Vertical markers, labelled at the top beside the line.
void draw_vertical(std::ostringstream& o, Panel& p) {
  for (const Line& l : p.f.vertical) {
    if (p.f.log_x && !(l.value > 0)) continue;
    const double x = p.px(l.value);
    o << "<line y1=\"" << p.top << "\" y2=\"" << p.top + p.ph << "\" x1=\"" << x << "\" x2=\"" << x
      << "\" stroke=\"#aa3333\" stroke-dasharray=\"4,3\"/>\n";
    const double tw = text_width(l.label, p.font);
    const double lx = x + tw + 0.6 * p.font > p.left + p.pw ? x - 0.3 * p.font - tw : x + 0.3 * p.font;
    o << "<text x=\"" << lx << "\" y=\"" << p.top + 1.15 * p.font << "\" fill=\"#aa3333\">" << escape(l.label) << "</text>\n";
    p.taken.push_back({lx, p.top, lx + tw, p.top + 1.4 * p.font});
  }
}

// Series: line, markers and error bars in the method's style.
void draw_series(std::ostringstream& o, const Panel& p) {
  for (size_t k = 0; k < p.f.series.size(); ++k) {
    const Series& s = p.f.series[k];
    const MethodStyle style = method_style(s.method.empty() ? s.label : s.method);
    const std::string op = s.opacity < 1 ? " opacity=\"" + std::to_string(s.opacity) + "\"" : "";
    const std::string dash = scaled_dash(style.dash, p.line_width);
    const auto pts = p.sorted_points(s);
    o << "<polyline fill=\"none\" stroke=\"" << style.colour << "\" stroke-width=\"" << (s.opacity < 1 ? 0.6 : 1.0) * p.line_width
      << "\"" << (dash.empty() ? "" : " stroke-dasharray=\"" + dash + "\"") << op << " points=\"";
    for (auto [x, y] : pts) o << p.px(x) + p.dodge[k] << "," << p.py(y) << " ";
    o << "\"/>\n";
    if (s.markers)
      for (size_t i = 0; i < pts.size(); i += std::max<size_t>(1, s.marker_every))
        o << marker_svg(style.marker, p.px(pts[i].first) + p.dodge[k], p.py(pts[i].second), p.marker_r, style.colour, s.opacity)
          << "\n";
    for (size_t i = 0; i < s.y_err.size(); ++i) {  // vertical bar with short caps
      if (!p.drawable(s.x[i], s.y[i]) || !(s.y_err[i] > 0) || !std::isfinite(s.y_err[i])) continue;
      // A bar reaching zero or below on a log axis stops at the axis' bottom.
      const double y_lo = p.f.log_y && !(s.y[i] - s.y_err[i] > 0) ? p.page_y(p.b.y0) : p.py(s.y[i] - s.y_err[i]);
      const double y_hi = p.py(s.y[i] + s.y_err[i]), x = p.px(s.x[i]) + p.dodge[k], cap = 0.3 * p.font;
      o << "<path class=\"error-bar\" fill=\"none\" stroke=\"" << style.colour << "\" stroke-width=\"" << 0.75 * p.line_width
        << "\" d=\"M" << x << "," << y_lo << "V" << y_hi << "M" << x - cap << "," << y_lo << "h" << 2 * cap << "M" << x - cap << ","
        << y_hi << "h" << 2 * cap << "\"" << op << "/>\n";
    }
  }
}

// Of `candidates`, the first that stays on the plot and covers the fewest data points and no
// taken text; its cost too. Reference lines count too, except the one at `y_exempt` (the line
// the label belongs to).
std::pair<size_t, size_t> best_place(const Panel& p, const std::vector<Rect>& candidates, double y_exempt) {
  size_t best = 0, best_cost = std::numeric_limits<size_t>::max();
  for (size_t c = 0; c < candidates.size(); ++c) {
    const Rect& r = candidates[c];
    if (r.y0 < p.top || r.y1 > p.top + p.ph || r.x0 < p.left || r.x1 > p.left + p.pw) continue;  // off the plot
    size_t cost = 0;
    for (const auto& [ox, oy] : p.obstacles) cost += r.grown(0.15 * p.font).contains(ox, oy);
    for (const auto& [ox, oy] : p.line_obstacles) cost += r.grown(0.15 * p.font).contains(ox, oy) && std::fabs(oy - y_exempt) > 0.5;
    for (const Rect& t : p.taken) cost += 1000 * r.overlaps(t);
    if (cost < best_cost) best = c, best_cost = cost;
  }
  return {best, best_cost};
}

// Horizontal reference lines (a baseline). Each is labelled on the plot where its text meets
// no data, legend or other label (above or below the line, at the left, the right or in
// between); where every such place would cover data, the label goes to the legend instead.
void draw_horizontal(std::ostringstream& o, Panel& p, bool labels_on_plot) {
  for (const Line& l : p.f.horizontal) {
    if (p.f.log_y && !(l.value > 0)) continue;
    const double y = p.py(l.value);
    o << "<line x1=\"" << p.left << "\" x2=\"" << p.left + p.pw << "\" y1=\"" << y << "\" y2=\"" << y
      << "\" stroke=\"#555\" stroke-dasharray=\"6,4\" stroke-width=\"" << 0.75 * p.line_width << "\"/>\n";
    if (!labels_on_plot) continue;
    const double tw = text_width(l.label, p.font), gap = 0.3 * p.font;
    std::vector<Rect> candidates;
    for (double side : {-1.0, 1.0})
      for (double along : {0.0, 1.0, 0.5, 0.25, 0.75}) {
        const double x = p.left + gap + along * (p.pw - 2 * gap - tw);
        const double y_top = side < 0 ? y - gap - p.font : y + gap;
        candidates.push_back({x, y_top, x + tw, y_top + p.font});
      }
    const Rect& r = candidates[best_place(p, candidates, y).first];
    // A white halo keeps the text readable where it has to cross a line.
    o << "<text class=\"baseline-label\" x=\"" << r.x0 << "\" y=\"" << r.y1 - 0.2 * p.font << "\" fill=\"#555\" stroke=\"white\" stroke-width=\""
      << 0.25 * p.font << "\" paint-order=\"stroke\">" << escape(l.label) << "</text>\n";
    p.taken.push_back(r);
  }
}

// Whether every horizontal line's label finds a place on the plot covering no data.
bool horizontal_labels_fit(const Panel& p) {
  for (const Line& l : p.f.horizontal) {
    if (p.f.log_y && !(l.value > 0)) continue;
    const double y = p.py(l.value), tw = text_width(l.label, p.font), gap = 0.3 * p.font;
    std::vector<Rect> candidates;
    for (double side : {-1.0, 1.0})
      for (double along : {0.0, 1.0, 0.5, 0.25, 0.75}) {
        const double x = p.left + gap + along * (p.pw - 2 * gap - tw);
        const double y_top = side < 0 ? y - gap - p.font : y + gap;
        candidates.push_back({x, y_top, x + tw, y_top + p.font});
      }
    if (best_place(p, candidates, y).second != 0) return false;
  }
  return true;
}

// Published points (the reference's figures): the method's marker drawn hollow and larger,
// labelled beside it where the text covers nothing.
void draw_references(std::ostringstream& o, Panel& p) {
  for (const Reference& ref : p.f.references) {
    if (!p.drawable(ref.x, ref.y)) continue;
    const MethodStyle style = method_style(ref.method);
    const double x = p.px(ref.x), y = p.py(ref.y), r = 1.35 * p.marker_r;
    o << hollow_marker_svg(style.marker, x, y, r, style.colour) << "\n";
    const double tw = text_width(ref.label, 0.85 * p.font), h = 0.85 * p.font, gap = r + 0.3 * p.font;
    // Right, left, above, below, then the four diagonals a little further out.
    std::vector<Rect> candidates{{x + gap, y - h / 2, x + gap + tw, y + h / 2},
                                 {x - gap - tw, y - h / 2, x - gap, y + h / 2},
                                 {x - tw / 2, y - gap - h, x + tw / 2, y - gap},
                                 {x - tw / 2, y + gap, x + tw / 2, y + gap + h}};
    for (double dx : {1.0, -1.0})
      for (double dy : {-1.0, 1.0}) {
        const double lx = dx > 0 ? x + gap : x - gap - tw, ly = dy < 0 ? y - 1.5 * gap - h : y + 1.5 * gap;
        candidates.push_back({lx, ly, lx + tw, ly + h});
      }
    const Rect& at = candidates[best_place(p, candidates, std::numeric_limits<double>::quiet_NaN()).first];
    o << "<text class=\"reference-label\" x=\"" << at.x0 << "\" y=\"" << at.y1 - 0.15 * p.font << "\" font-size=\"" << 0.85 * p.font
      << "\" fill=\"" << style.colour << "\" stroke=\"white\" stroke-width=\"" << 0.25 * p.font << "\" paint-order=\"stroke\">"
      << escape(ref.label) << "</text>\n";
    p.taken.push_back(at);
  }
}

// The legend: a line sample with the marker on it, then the label; reference lines moved
// here from the plot come last, with their dashed grey sample.
void draw_legend(std::ostringstream& o, const Panel& p) {
  const size_t count = p.entries.size() + p.extra_entries.size();
  if (count == 0) return;
  o << "<rect class=\"legend\" x=\"" << p.legend.x0 << "\" y=\"" << p.legend.y0 << "\" width=\"" << p.legend.x1 - p.legend.x0
    << "\" height=\"" << p.legend.y1 - p.legend.y0 << "\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#bbb\"/>\n";
  for (size_t e = 0; e < count; ++e) {
    const size_t column = e % p.legend_columns, row = e / p.legend_columns;
    const double ly = p.legend.y0 + 0.25 * p.font + (static_cast<double>(row) + 0.5) * p.row_h;
    const double lx = p.legend.x0 + 0.5 * p.font + static_cast<double>(column) * (p.legend_w - 0.5 * p.font);
    std::string label;
    if (e < p.entries.size()) {
      const Series& s = p.f.series[p.entries[e]];
      const MethodStyle style = method_style(s.method.empty() ? s.label : s.method);
      const std::string dash = scaled_dash(style.dash, p.line_width);
      o << "<line x1=\"" << lx << "\" x2=\"" << lx + p.sample_w << "\" y1=\"" << ly << "\" y2=\"" << ly << "\" stroke=\""
        << style.colour << "\" stroke-width=\"" << p.line_width << "\"" << (dash.empty() ? "" : " stroke-dasharray=\"" + dash + "\"")
        << "/>\n";
      if (s.markers) o << marker_svg(style.marker, lx + p.sample_w / 2, ly, p.marker_r, style.colour, 1) << "\n";
      label = s.label;
    } else {
      o << "<line x1=\"" << lx << "\" x2=\"" << lx + p.sample_w << "\" y1=\"" << ly << "\" y2=\"" << ly
        << "\" stroke=\"#555\" stroke-dasharray=\"6,4\" stroke-width=\"" << 0.75 * p.line_width << "\"/>\n";
      label = p.extra_entries[e - p.entries.size()];
    }
    o << "<text class=\"legend-label\" x=\"" << lx + p.sample_w + 0.4 * p.font << "\" y=\"" << ly + 0.35 * p.font << "\">"
      << escape(label) << "</text>\n";
  }
}

// Lays the panel out: bounds, margins, ticks, the legend's place and the obstacles.
void lay_out(Panel& p, double title_h) {
  p.b = data_bounds(p);
  p.top = p.top_y + title_h;
  // Tick labels and the x label below the plot; a label wrapped to two lines takes one more.
  const std::string x_label = p.f.x_label + (p.f.log_x ? " (log scale)" : "");
  p.bottom = (3.45 + 1.15 * static_cast<double>(wrap_label(x_label, p.width - 1.0 * p.font, p.font).size())) * p.font;
  set_height(p, title_h, 0);
  p.dodge = dodge_offsets(p);
  p.entries.clear();
  size_legend(p);
  place_legend(p);
  if (!p.entries.empty() || !p.extra_entries.empty()) p.taken = {p.legend};
}

// One panel drawn into `o` in the rectangle [0, width] x [top_y, top_y + height], grown by
// the rows of a legend placed below the plot; returns the height it took.
double render_panel(std::ostringstream& o, const Figure& f, double width, double top_y, double height, bool with_title) {
  const double font = f.font_pt * kPxPerPt;
  Panel p(f, width, top_y, height);
  const double title_h = with_title && !f.title.empty() ? 3.3 * font : 1.2 * font;
  lay_out(p, title_h);
  // A reference line whose label would cover data wherever it went is named in the legend.
  const bool labels_on_plot = horizontal_labels_fit(p);
  if (!labels_on_plot) {
    for (const Line& l : f.horizontal) p.extra_entries.push_back(l.label);
    lay_out(p, title_h);
  }
  if (with_title && !f.title.empty()) draw_title(o, p);
  draw_bands(o, p);
  draw_axes(o, p);
  draw_axis_labels(o, p);
  draw_vertical(o, p);
  draw_series(o, p);
  draw_legend(o, p);
  draw_horizontal(o, p, labels_on_plot);
  draw_references(o, p);
  return height + p.added_height;
}

}  // namespace

void PlotSize::apply(Figure& f) const {
  f.width = width_in * kPxPerInch;
  f.height = (height_in > 0 ? height_in : 0.61 * width_in) * kPxPerInch;
  f.font_pt = font_pt;
}

void check_plot_size(const PlotSize& s) {
  MC_CHECK(std::isfinite(s.width_in) && s.width_in >= 1.5 && s.width_in <= 40, ValueError,
           "--plot-width-in " << s.width_in << ": must be between 1.5 and 40 inches");
  MC_CHECK(s.height_in == 0 || (std::isfinite(s.height_in) && s.height_in >= 1 && s.height_in <= 40), ValueError,
           "--plot-height-in " << s.height_in << ": must be 0 (0.61 of the width) or between 1 and 40 inches");
  MC_CHECK(std::isfinite(s.font_pt) && s.font_pt >= 4 && s.font_pt <= 30, ValueError,
           "--plot-font-pt " << s.font_pt << ": must be between 4 and 30 points");
}

std::string render_svg(const std::vector<Figure>& panels) {
  MC_CHECK(!panels.empty(), ValueError, "render_svg: no panel to draw");
  const double width = panels.front().width;
  std::ostringstream body;
  double height = 0;
  for (size_t i = 0; i < panels.size(); ++i) height += render_panel(body, panels[i], width, height, panels[i].height, i == 0);
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width / kPxPerInch << "in\" height=\"" << height / kPxPerInch
    << "in\" viewBox=\"0 0 " << width << " " << height << "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\""
    << panels.front().font_pt * kPxPerPt << "\">\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o << body.str() << "</svg>\n";
  return o.str();
}

std::string render_svg(const Figure& figure) { return render_svg(std::vector<Figure>{figure}); }

void write_svg(const std::string& path, const Figure& figure) { write_file_atomically(path, render_svg(figure)); }

}  // namespace mc::plot
