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

// One panel drawn into `o` in the rectangle [0, width] x [top_y, top_y + height], grown by
// the rows of a legend placed below the plot; returns the height it took.
double render_panel(std::ostringstream& o, const Figure& f, double width, double top_y, double height, bool with_title) {
  const double font = f.font_pt * kPxPerPt, line_width = std::max(1.0, font / 6), marker_r = 0.3 * font;
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  // Bounds are kept in axis coordinates (log10 of the value on a log axis).
  const auto tx = [&](double x) { return f.log_x ? std::log10(x) : x; };
  const auto ty = [&](double y) { return f.log_y ? std::log10(y) : y; };
  const auto drawable = [&](double x, double y) {
    return std::isfinite(x) && std::isfinite(y) && (!f.log_x || x > 0) && (!f.log_y || y > 0);
  };
  for (const Series& s : f.series) {
    MC_CHECK(s.x.size() == s.y.size(), ValueError, "plot series '" << s.label << "': x and y differ in length");
    MC_CHECK(s.y_err.empty() || s.y_err.size() == s.y.size(), ValueError,
             "plot series '" << s.label << "': " << s.y_err.size() << " error bars for " << s.y.size() << " points");
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!drawable(s.x[i], s.y[i])) continue;
      x0 = std::min(x0, tx(s.x[i]));
      x1 = std::max(x1, tx(s.x[i]));
      y0 = std::min(y0, ty(s.y[i]));
      y1 = std::max(y1, ty(s.y[i]));
      if (!s.y_err.empty() && std::isfinite(s.y_err[i])) {
        const double lo = s.y[i] - s.y_err[i], hi = s.y[i] + s.y_err[i];
        if (!f.log_y || lo > 0) y0 = std::min(y0, ty(lo));
        y1 = std::max(y1, ty(hi));
      }
    }
  }
  for (const Line& l : f.horizontal)
    if (!f.log_y || l.value > 0) y0 = std::min(y0, ty(l.value)), y1 = std::max(y1, ty(l.value));
  for (const Line& l : f.vertical)
    if (!f.log_x || l.value > 0) x0 = std::min(x0, tx(l.value)), x1 = std::max(x1, tx(l.value));
  for (const Band& b : f.bands)
    if (!f.log_x || b.from > 0) x0 = std::min(x0, tx(b.from)), x1 = std::max(x1, tx(b.to));
  if (!std::isfinite(x0)) x0 = 0, x1 = 1;
  if (!std::isfinite(y0)) y0 = 0, y1 = 1;
  if (x1 == x0) x0 -= 0.5, x1 += 0.5;
  if (y1 == y0) y0 -= 0.5, y1 += 0.5;
  const double pad_y = 0.06 * (y1 - y0);
  y0 -= pad_y;
  y1 += pad_y;
  const double pad_x = 0.03 * (x1 - x0);
  x0 -= pad_x;
  x1 += pad_x;

  // The plot area: the title above, tick labels and the x label below (and a legend below
  // the plot where it goes there), y tick labels at the left (their width sets the margin).
  const double title_h = with_title && !f.title.empty() ? 3.3 * font : 1.2 * font;
  const double top = top_y + title_h, bottom = 4.6 * font;
  double ph = 0, left = 0;
  std::vector<double> yt;
  const auto set_height = [&](double below) {
    ph = height - title_h - bottom - below;
    const int y_count = std::clamp(static_cast<int>(ph / (3 * font)), 3, 6);
    yt = f.log_y ? log_ticks(y0, y1, 4) : nice_ticks(y0, y1, y_count);
    double label_w = 0;
    for (double t : yt) label_w = std::max(label_w, text_width(fmt(t), font));
    left = 1.9 * font + label_w + 0.6 * font;
  };
  set_height(0);

  // Legend entries, and the box they need.
  std::vector<size_t> entries;
  double entry_chars = 0;
  for (size_t k = 0; k < f.series.size(); ++k)
    if (f.series[k].in_legend && !f.series[k].label.empty()) {
      entries.push_back(k);
      entry_chars = std::max(entry_chars, static_cast<double>(f.series[k].label.size()));
    }
  const double row_h = 1.35 * font, sample_w = 2.4 * font;
  const double legend_w = 0.65 * font * entry_chars + sample_w + 1.2 * font;
  const double legend_h = static_cast<double>(entries.size()) * row_h + 0.5 * font;

  // Series with error bars at the same or nearly the same x (within 1 % of the axis: the
  // achieved ratios of two methods aimed at one target) are moved apart sideways (dodged), so
  // no bar hides another.
  std::vector<double> dodge(f.series.size(), 0.0);
  {
    std::vector<size_t> with_bars;
    for (size_t k = 0; k < f.series.size(); ++k) {
      const auto& e = f.series[k].y_err;
      if (std::any_of(e.begin(), e.end(), [](double v) { return v > 0; })) with_bars.push_back(k);
    }
    bool shared = false;
    for (size_t a = 0; a < with_bars.size() && !shared; ++a)
      for (size_t b = a + 1; b < with_bars.size() && !shared; ++b)
        for (double xa : f.series[with_bars[a]].x)
          for (double xb : f.series[with_bars[b]].x)
            if (drawable(xa, 1) && drawable(xb, 1) && std::fabs(tx(xa) - tx(xb)) <= 0.01 * (x1 - x0)) shared = true;
    if (shared)
      for (size_t i = 0; i < with_bars.size(); ++i)
        dodge[with_bars[i]] = (static_cast<double>(i) - (static_cast<double>(with_bars.size()) - 1) / 2) * 0.5 * font;
  }

  // Two layouts: the legend inside (in the emptiest corner) or, when every corner holds data,
  // outside on the right. Obstacles are sample points along every line, marker and bar.
  double right = 0.9 * font, pw = 0;
  std::vector<std::pair<double, double>> obstacles;
  const auto px_of = [&](double x) { return left + (tx(x) - x0) / (x1 - x0) * pw; };
  const auto page_y = [&](double axis_y) { return top + (1 - (axis_y - y0) / (y1 - y0)) * ph; };  // axis coordinates
  const auto py = [&](double y) { return page_y(ty(y)); };
  const auto sorted_points = [&](const Series& s) {
    std::vector<std::pair<double, double>> pts;
    for (size_t i = 0; i < s.x.size(); ++i)
      if (drawable(s.x[i], s.y[i])) pts.emplace_back(s.x[i], s.y[i]);
    std::sort(pts.begin(), pts.end());
    return pts;
  };
  const auto collect_obstacles = [&] {
    obstacles.clear();
    const double spacing = 0.4 * font;
    const auto add_segment = [&](double ax, double ay, double bx, double by) {
      const int n = 1 + static_cast<int>(std::hypot(bx - ax, by - ay) / spacing);
      for (int i = 0; i <= n; ++i) {
        const double t = static_cast<double>(i) / n;
        obstacles.emplace_back(ax + t * (bx - ax), ay + t * (by - ay));
      }
    };
    for (size_t k = 0; k < f.series.size(); ++k) {
      const Series& s = f.series[k];
      const auto pts = sorted_points(s);
      for (size_t i = 0; i < pts.size(); ++i) {
        const double x = px_of(pts[i].first) + dodge[k], y = py(pts[i].second);
        obstacles.emplace_back(x, y);
        if (i > 0) add_segment(px_of(pts[i - 1].first) + dodge[k], py(pts[i - 1].second), x, y);
      }
      for (size_t i = 0; i < s.y_err.size(); ++i)
        if (drawable(s.x[i], s.y[i]) && s.y_err[i] > 0 && std::isfinite(s.y_err[i])) {
          const double x = px_of(s.x[i]) + dodge[k];
          const double lo = s.y[i] - s.y_err[i];
          add_segment(x, f.log_y && !(lo > 0) ? page_y(y0) : py(lo), x, py(s.y[i] + s.y_err[i]));
        }
    }
    for (const Line& l : f.horizontal)
      if (!f.log_y || l.value > 0) add_segment(left, py(l.value), left + pw, py(l.value));
  };
  const auto count_inside = [&](const Rect& r) {
    size_t n = 0;
    for (const auto& [x, y] : obstacles) n += r.contains(x, y);
    return n;
  };
  // Three layouts, the first that works: the legend inside the plot in a corner without data;
  // outside on the right when that leaves the plot most of the width; else below the plot, in
  // as many columns as fit (narrow paper figures).
  Rect legend{0, 0, 0, 0};
  size_t legend_columns = 1;
  double added_height = 0;  // a legend below the plot adds its rows to the panel
  for (int attempt = 0; attempt < 3; ++attempt) {
    const bool outside = attempt == 1, below = attempt == 2;
    const double column_w = legend_w - 0.5 * font;
    legend_columns = below ? std::max<size_t>(1, static_cast<size_t>((width - 1.8 * font) / column_w)) : 1;
    legend_columns = std::min(legend_columns, std::max<size_t>(1, entries.size()));
    const size_t rows = below ? (entries.size() + legend_columns - 1) / legend_columns : 0;
    const double below_h = below ? static_cast<double>(rows) * row_h + 0.8 * font : 0;
    added_height = below_h;
    right = 0.9 * font + (outside ? legend_w + 0.8 * font : 0);
    pw = width - left - right;
    collect_obstacles();
    if (entries.empty()) break;
    if (outside) {
      if (pw < 0.55 * width) continue;  // the plot would be squeezed: below instead
      legend = {left + pw + 0.8 * font, top, left + pw + 0.8 * font + legend_w, top + legend_h};
      break;
    }
    if (below) {
      const double w = static_cast<double>(legend_columns) * column_w + 0.5 * font;
      const double x = std::max(0.3 * font, std::min(left + pw / 2 - w / 2, width - w - 0.3 * font));
      legend = {x, top + ph + bottom - 0.2 * font, x + w, top + ph + bottom + below_h - 0.6 * font};
      break;
    }
    const double inset = 0.4 * font;
    const Rect corners[] = {{left + pw - inset - legend_w, top + inset, left + pw - inset, top + inset + legend_h},
                            {left + inset, top + inset, left + inset + legend_w, top + inset + legend_h},
                            {left + pw - inset - legend_w, top + ph - inset - legend_h, left + pw - inset, top + ph - inset},
                            {left + inset, top + ph - inset - legend_h, left + inset + legend_w, top + ph - inset}};
    const bool fits = legend_w < 0.6 * pw && legend_h < 0.6 * ph;
    bool placed = false;
    for (const Rect& c : corners)
      if (fits && count_inside(c.grown(0.3 * font + marker_r)) == 0) {  // a marker's edge counts too
        legend = c;
        placed = true;
        break;
      }
    if (placed) break;
  }
  const auto px = px_of;
  std::vector<Rect> taken;  // text and the legend, which later labels avoid
  if (!entries.empty()) taken.push_back(legend);

  // The title centres over the plot area, moved as far as a long title needs to stay on the
  // page, and set smaller if it is wider than the page.
  if (with_title && !f.title.empty()) {
    const double title_chars = static_cast<double>(f.title.size());
    // Bold text is wider than regular: about 0.68 em a character.
    const double title_size = std::min(1.25 * font, (width - 16) / (0.68 * std::max(title_chars, 1.0)));
    const double title_half_width = 0.34 * title_size * title_chars;
    const double title_x = std::min(std::max(left + pw / 2, title_half_width + 8), width - title_half_width - 8);
    o << "<text x=\"" << title_x << "\" y=\"" << top_y + 1.8 * font << "\" text-anchor=\"middle\" font-size=\"" << title_size
      << "\" font-weight=\"bold\">" << escape(f.title) << "</text>\n";
  }
  // Shaded bands under everything.
  for (const Band& b : f.bands) {
    if (f.log_x && !(b.from > 0)) continue;
    const double a = std::max(left, px(b.from)), z = std::min(left + pw, px(b.to));
    o << "<rect class=\"band\" x=\"" << a << "\" y=\"" << top << "\" width=\"" << std::max(0.0, z - a) << "\" height=\"" << ph
      << "\" fill=\"#000000\" fill-opacity=\"0.08\"/>\n";
    if (!b.label.empty()) {
      const double tw = text_width(b.label, 0.85 * font);
      const double lx = std::min(a + 0.3 * font, left + pw - tw - 0.3 * font);
      o << "<text x=\"" << lx << "\" y=\"" << top + 1.1 * font << "\" font-size=\"" << 0.85 * font << "\" fill=\"#444\">"
        << escape(b.label) << "</text>\n";
      taken.push_back({lx, top, lx + tw, top + 1.3 * font});
    }
  }
  // Grid, tick marks and tick labels.
  const double tick = 0.4 * font, minor_tick = 0.25 * font;
  for (double t : yt) {
    o << "<line x1=\"" << left << "\" x2=\"" << left + pw << "\" y1=\"" << py(t) << "\" y2=\"" << py(t) << "\" stroke=\"#e5e5e5\"/>\n";
    o << "<line class=\"tick\" x1=\"" << left - tick << "\" x2=\"" << left << "\" y1=\"" << py(t) << "\" y2=\"" << py(t)
      << "\" stroke=\"#333\"/>\n";
    o << "<text x=\"" << left - tick - 0.25 * font << "\" y=\"" << py(t) + 0.33 * font << "\" text-anchor=\"end\">" << fmt(t) << "</text>\n";
  }
  if (f.log_y)
    for (double t : log_minor_ticks(y0, y1, yt))
      o << "<line class=\"tick-minor\" x1=\"" << left - minor_tick << "\" x2=\"" << left << "\" y1=\"" << py(t) << "\" y2=\"" << py(t)
        << "\" stroke=\"#333\"/>\n";
  const int x_count = std::clamp(static_cast<int>(pw / (5 * font)), 3, 7);
  const std::vector<double> xt = f.log_x ? log_ticks(x0, x1, 4, x_count) : nice_ticks(x0, x1, x_count);
  // Labels on every tick where they fit side by side, else on every 2nd, 3rd... tick.
  size_t label_every = 1;
  {
    double widest = 0, closest = std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < xt.size(); ++i) {
      widest = std::max(widest, text_width(fmt(xt[i]), font));
      if (i > 0) closest = std::min(closest, px(xt[i]) - px(xt[i - 1]));
    }
    while (label_every < xt.size() && closest * static_cast<double>(label_every) < widest + 0.6 * font) ++label_every;
  }
  for (size_t i = 0; i < xt.size(); ++i) {
    const double t = xt[i];
    o << "<line y1=\"" << top << "\" y2=\"" << top + ph << "\" x1=\"" << px(t) << "\" x2=\"" << px(t) << "\" stroke=\"#e5e5e5\"/>\n";
    o << "<line class=\"tick\" y1=\"" << top + ph << "\" y2=\"" << top + ph + tick << "\" x1=\"" << px(t) << "\" x2=\"" << px(t)
      << "\" stroke=\"#333\"/>\n";
    if (i % label_every == 0)
      o << "<text x=\"" << px(t) << "\" y=\"" << top + ph + tick + 1.05 * font << "\" text-anchor=\"middle\">" << fmt(t) << "</text>\n";
  }
  if (f.log_x)
    for (double t : log_minor_ticks(x0, x1, xt))
      o << "<line class=\"tick-minor\" y1=\"" << top + ph << "\" y2=\"" << top + ph + minor_tick << "\" x1=\"" << px(t) << "\" x2=\""
        << px(t) << "\" stroke=\"#333\"/>\n";
  o << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << pw << "\" height=\"" << ph << "\" fill=\"none\" stroke=\"#333\"/>\n";
  // Axis labels set smaller where they are longer than their axis (down to 0.75 of the text size).
  const std::string x_label = f.x_label + (f.log_x ? " (log scale)" : ""), y_label = f.y_label + (f.log_y ? " (log scale)" : "");
  const double x_label_size = std::clamp((width - 1.0 * font) / (0.65 * std::max<double>(1, x_label.size())), 0.75 * font, font);
  const double y_label_size = std::clamp((ph + 1.5 * font) / (0.65 * std::max<double>(1, y_label.size())), 0.75 * font, font);
  o << "<text x=\"" << std::clamp(left + pw / 2, 0.33 * x_label_size * x_label.size(), width - 0.33 * x_label_size * x_label.size())
    << "\" y=\"" << top + ph + bottom - 1.1 * font << "\" text-anchor=\"middle\" font-size=\"" << x_label_size << "\">"
    << escape(x_label) << "</text>\n";
  o << "<text transform=\"translate(" << 1.3 * font << "," << top + ph / 2 << ") rotate(-90)\" text-anchor=\"middle\" font-size=\""
    << y_label_size << "\">" << escape(y_label) << "</text>\n";
  // Vertical markers, labelled at the top beside the line.
  for (const Line& l : f.vertical) {
    if (f.log_x && !(l.value > 0)) continue;
    o << "<line y1=\"" << top << "\" y2=\"" << top + ph << "\" x1=\"" << px(l.value) << "\" x2=\"" << px(l.value)
      << "\" stroke=\"#aa3333\" stroke-dasharray=\"4,3\"/>\n";
    const double tw = text_width(l.label, font);
    const double lx = px(l.value) + tw + 0.6 * font > left + pw ? px(l.value) - 0.3 * font - tw : px(l.value) + 0.3 * font;
    o << "<text x=\"" << lx << "\" y=\"" << top + 1.15 * font << "\" fill=\"#aa3333\">" << escape(l.label) << "</text>\n";
    taken.push_back({lx, top, lx + tw, top + 1.4 * font});
  }
  // Series: line, markers and error bars in the method's style.
  for (size_t k = 0; k < f.series.size(); ++k) {
    const Series& s = f.series[k];
    const MethodStyle style = method_style(s.method.empty() ? s.label : s.method);
    const std::string op = s.opacity < 1 ? " opacity=\"" + std::to_string(s.opacity) + "\"" : "";
    const std::string dash = scaled_dash(style.dash, line_width);
    const auto pts = sorted_points(s);
    o << "<polyline fill=\"none\" stroke=\"" << style.colour << "\" stroke-width=\"" << (s.opacity < 1 ? 0.6 : 1.0) * line_width << "\""
      << (dash.empty() ? "" : " stroke-dasharray=\"" + dash + "\"") << op << " points=\"";
    for (auto [x, y] : pts) o << px(x) + dodge[k] << "," << py(y) << " ";
    o << "\"/>\n";
    if (s.markers)
      for (size_t i = 0; i < pts.size(); i += std::max<size_t>(1, s.marker_every))
        o << marker_svg(style.marker, px(pts[i].first) + dodge[k], py(pts[i].second), marker_r, style.colour, s.opacity) << "\n";
    for (size_t i = 0; i < s.y_err.size(); ++i) {  // vertical bar with short caps
      if (!drawable(s.x[i], s.y[i]) || !(s.y_err[i] > 0) || !std::isfinite(s.y_err[i])) continue;
      // A bar reaching zero or below on a log axis stops at the axis' bottom.
      const double y_lo = f.log_y && !(s.y[i] - s.y_err[i] > 0) ? page_y(y0) : py(s.y[i] - s.y_err[i]);
      const double y_hi = py(s.y[i] + s.y_err[i]), x = px(s.x[i]) + dodge[k], cap = 0.3 * font;
      o << "<path class=\"error-bar\" fill=\"none\" stroke=\"" << style.colour << "\" stroke-width=\"" << 0.75 * line_width << "\" d=\"M"
        << x << "," << y_lo << "V" << y_hi << "M" << x - cap << "," << y_lo << "h" << 2 * cap << "M" << x - cap << "," << y_hi << "h"
        << 2 * cap << "\"" << op << "/>\n";
    }
  }
  // The legend: a line sample with the marker on it, then the label.
  if (!entries.empty()) {
    o << "<rect class=\"legend\" x=\"" << legend.x0 << "\" y=\"" << legend.y0 << "\" width=\"" << legend.x1 - legend.x0
      << "\" height=\"" << legend.y1 - legend.y0 << "\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#bbb\"/>\n";
    for (size_t e = 0; e < entries.size(); ++e) {
      const Series& s = f.series[entries[e]];
      const MethodStyle style = method_style(s.method.empty() ? s.label : s.method);
      const std::string dash = scaled_dash(style.dash, line_width);
      const size_t column = e % legend_columns, row = e / legend_columns;
      const double ly = legend.y0 + 0.25 * font + (static_cast<double>(row) + 0.5) * row_h;
      const double lx = legend.x0 + 0.5 * font + static_cast<double>(column) * (legend_w - 0.5 * font);
      o << "<line x1=\"" << lx << "\" x2=\"" << lx + sample_w << "\" y1=\"" << ly << "\" y2=\"" << ly << "\" stroke=\"" << style.colour
        << "\" stroke-width=\"" << line_width << "\"" << (dash.empty() ? "" : " stroke-dasharray=\"" + dash + "\"") << "/>\n";
      if (s.markers) o << marker_svg(style.marker, lx + sample_w / 2, ly, marker_r, style.colour, 1) << "\n";
      o << "<text x=\"" << lx + sample_w + 0.4 * font << "\" y=\"" << ly + 0.35 * font << "\">" << escape(s.label) << "</text>\n";
    }
  }
  // Reference lines, each labelled where its text meets no data, legend or other label: above
  // or below the line, at the left or the right.
  for (const Line& l : f.horizontal) {
    if (f.log_y && !(l.value > 0)) continue;
    const double y = py(l.value);
    o << "<line x1=\"" << left << "\" x2=\"" << left + pw << "\" y1=\"" << y << "\" y2=\"" << y
      << "\" stroke=\"#555\" stroke-dasharray=\"6,4\" stroke-width=\"" << 0.75 * line_width << "\"/>\n";
    const double tw = text_width(l.label, font), gap = 0.3 * font;
    // Above, then below the line; at the left end, the right end, then in between.
    std::vector<Rect> candidates;
    for (double side : {-1.0, 1.0})
      for (double along : {0.0, 1.0, 0.5, 0.25, 0.75}) {
        const double x = left + gap + along * (pw - 2 * gap - tw);
        const double y_top = side < 0 ? y - gap - font : y + gap;
        candidates.push_back({x, y_top, x + tw, y_top + font});
      }
    size_t best = 0, best_cost = std::numeric_limits<size_t>::max();
    for (size_t c = 0; c < candidates.size(); ++c) {
      const Rect& r = candidates[c];
      if (r.y0 < top || r.y1 > top + ph) continue;  // off the plot
      size_t cost = 0;
      for (const auto& [ox, oy] : obstacles) cost += r.grown(0.15 * font).contains(ox, oy) && std::fabs(oy - y) > 0.5;
      for (const Rect& t : taken) cost += 1000 * r.overlaps(t);
      if (cost < best_cost) best = c, best_cost = cost;
    }
    const Rect& r = candidates[best];
    // A white halo keeps the text readable where it has to cross a line.
    o << "<text class=\"baseline-label\" x=\"" << r.x0 << "\" y=\"" << r.y1 - 0.2 * font
      << "\" fill=\"#555\" stroke=\"white\" stroke-width=\"" << 0.25 * font << "\" paint-order=\"stroke\">" << escape(l.label)
      << "</text>\n";
    taken.push_back(r);
  }
  return height + added_height;
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
