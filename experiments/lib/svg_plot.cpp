#include "experiments/lib/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "matcomp/core/atomic_file.h"
#include "matcomp/core/error.h"

namespace mc::plot {

namespace {

// A colour-blind-safe palette (Okabe-Ito), in a fixed order.
const char* kColours[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"};

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
std::vector<double> log_ticks(double lo, double hi, size_t min_count) {
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
  for (double t : nice_ticks(std::pow(10.0, lo), std::pow(10.0, hi), 6))
    if (t > 0) ticks.push_back(t);
  return ticks;
}

}  // namespace

std::string render_svg(const Figure& f) {
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  // Bounds are kept in axis coordinates (log10 of the value on a log axis).
  const auto tx = [&](double x) { return f.log_x ? std::log10(x) : x; };
  const auto ty = [&](double y) { return f.log_y ? std::log10(y) : y; };
  const auto drawable = [&](double x, double y) { return std::isfinite(y) && (!f.log_x || x > 0) && (!f.log_y || y > 0); };
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
  for (const Line& l : f.vertical) x0 = std::min(x0, tx(l.value)), x1 = std::max(x1, tx(l.value));
  if (!std::isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (x1 == x0) x0 -= 0.5, x1 += 0.5;
  if (y1 == y0) y0 -= 0.5, y1 += 0.5;
  const double pad_y = 0.06 * (y1 - y0);
  y0 -= pad_y;
  y1 += pad_y;
  const double pad_x = 0.03 * (x1 - x0);
  x0 -= pad_x;
  x1 += pad_x;

  const double left = 70, right = 190, top = 40, bottom = 55;
  const double pw = f.width - left - right, ph = f.height - top - bottom;
  const auto px = [&](double x) { return left + (tx(x) - x0) / (x1 - x0) * pw; };
  const auto page_y = [&](double axis_y) { return top + (1 - (axis_y - y0) / (y1 - y0)) * ph; };  // axis coordinates
  const auto py = [&](double y) { return page_y(ty(y)); };

  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << f.width << "\" height=\"" << f.height
    << "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  // The title centres over the plot area, moved as far as a long title needs to stay on the
  // page, and set smaller if it is wider than the page (bold: about 0.6 em a character).
  const double title_chars = static_cast<double>(f.title.size());
  const double title_size = std::min(15.0, (f.width - 16) / (0.6 * std::max(title_chars, 1.0)));
  const double title_half_width = 0.3 * title_size * title_chars;
  const double title_x = std::min(std::max(left + pw / 2, title_half_width + 8), f.width - title_half_width - 8);
  o << "<text x=\"" << title_x << "\" y=\"22\" text-anchor=\"middle\" font-size=\"" << title_size << "\" font-weight=\"bold\">"
    << escape(f.title) << "</text>\n";
  // Grid and ticks.
  std::vector<double> yt;
  if (f.log_y) {
    yt = log_ticks(y0, y1, 4);
  } else {
    yt = nice_ticks(y0, y1, 6);
  }
  for (double t : yt) {
    o << "<line x1=\"" << left << "\" x2=\"" << left + pw << "\" y1=\"" << py(t) << "\" y2=\"" << py(t)
      << "\" stroke=\"#e5e5e5\"/>\n";
    o << "<text x=\"" << left - 6 << "\" y=\"" << py(t) + 4 << "\" text-anchor=\"end\">" << fmt(t) << "</text>\n";
  }
  std::vector<double> xt;
  if (f.log_x) {
    xt = log_ticks(x0, x1, 4);
  } else {
    xt = nice_ticks(x0, x1, 7);
  }
  for (double t : xt) {
    o << "<line y1=\"" << top << "\" y2=\"" << top + ph << "\" x1=\"" << px(t) << "\" x2=\"" << px(t) << "\" stroke=\"#e5e5e5\"/>\n";
    o << "<text x=\"" << px(t) << "\" y=\"" << top + ph + 16 << "\" text-anchor=\"middle\">" << fmt(t) << "</text>\n";
  }
  o << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << pw << "\" height=\"" << ph
    << "\" fill=\"none\" stroke=\"#333\"/>\n";
  o << "<text x=\"" << left + pw / 2 << "\" y=\"" << f.height - 14 << "\" text-anchor=\"middle\">" << escape(f.x_label)
    << (f.log_x ? " (log scale)" : "") << "</text>\n";
  o << "<text transform=\"translate(18," << top + ph / 2 << ") rotate(-90)\" text-anchor=\"middle\">" << escape(f.y_label)
    << (f.log_y ? " (log scale)" : "") << "</text>\n";
  // Reference lines.
  for (const Line& l : f.horizontal) {
    if (f.log_y && !(l.value > 0)) continue;
    o << "<line x1=\"" << left << "\" x2=\"" << left + pw << "\" y1=\"" << py(l.value) << "\" y2=\"" << py(l.value)
      << "\" stroke=\"#555\" stroke-dasharray=\"6,4\" stroke-width=\"1.5\"/>\n";
    // Labelled at the left, where the compressed lines are furthest from the baseline.
    o << "<text x=\"" << left + 4 << "\" y=\"" << py(l.value) - 5 << "\" text-anchor=\"start\" fill=\"#555\">"
      << escape(l.label) << "</text>\n";
  }
  for (const Line& l : f.vertical) {
    o << "<line y1=\"" << top << "\" y2=\"" << top + ph << "\" x1=\"" << px(l.value) << "\" x2=\"" << px(l.value)
      << "\" stroke=\"#aa3333\" stroke-dasharray=\"4,3\"/>\n";
    o << "<text x=\"" << px(l.value) + 4 << "\" y=\"" << top + 14 << "\" fill=\"#aa3333\">" << escape(l.label) << "</text>\n";
  }
  // Series and legend.
  for (size_t k = 0; k < f.series.size(); ++k) {
    const Series& s = f.series[k];
    const char* colour = kColours[k % (sizeof kColours / sizeof *kColours)];
    std::vector<std::pair<double, double>> pts;
    for (size_t i = 0; i < s.x.size(); ++i)
      if (drawable(s.x[i], s.y[i])) pts.emplace_back(s.x[i], s.y[i]);
    std::sort(pts.begin(), pts.end());
    o << "<polyline fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"2\" points=\"";
    for (auto [x, y] : pts) o << px(x) << "," << py(y) << " ";
    o << "\"/>\n";
    if (s.markers)
      for (auto [x, y] : pts) o << "<circle cx=\"" << px(x) << "\" cy=\"" << py(y) << "\" r=\"3.5\" fill=\"" << colour << "\"/>\n";
    for (size_t i = 0; i < s.y_err.size(); ++i) {  // vertical bar with short caps
      if (!drawable(s.x[i], s.y[i]) || !(s.y_err[i] > 0) || !std::isfinite(s.y_err[i])) continue;
      // A bar reaching zero or below on a log axis stops at the axis' bottom.
      const double y_lo = f.log_y && !(s.y[i] - s.y_err[i] > 0) ? page_y(y0) : py(s.y[i] - s.y_err[i]);
      const double y_hi = py(s.y[i] + s.y_err[i]), x = px(s.x[i]);
      o << "<path class=\"error-bar\" fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"1.5\" d=\"M" << x << "," << y_lo
        << "V" << y_hi << "M" << x - 4 << "," << y_lo << "h8M" << x - 4 << "," << y_hi << "h8\"/>\n";
    }
    const double ly = top + 10 + 20 * static_cast<double>(k);
    o << "<line x1=\"" << left + pw + 14 << "\" x2=\"" << left + pw + 38 << "\" y1=\"" << ly << "\" y2=\"" << ly
      << "\" stroke=\"" << colour << "\" stroke-width=\"2.5\"/>\n";
    o << "<text x=\"" << left + pw + 44 << "\" y=\"" << ly + 4 << "\">" << escape(s.label) << "</text>\n";
  }
  o << "</svg>\n";
  return o.str();
}

void write_svg(const std::string& path, const Figure& figure) { write_file_atomically(path, render_svg(figure)); }

}  // namespace mc::plot
