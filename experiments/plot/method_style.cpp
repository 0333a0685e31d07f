#include "experiments/plot/method_style.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>

#include "matcomp/core/error.h"

namespace mc::plot {

namespace {

// Okabe & Ito's palette without its yellow (too light on white), plus a mid grey.
const char* const kPalette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#7F7F7F"};
const Marker kMarkers[] = {Marker::Circle, Marker::Square,   Marker::Triangle, Marker::Diamond,
                           Marker::TriangleDown, Marker::Cross, Marker::Plus,     Marker::Star};
// Patterns in units of the line width (2): long and short dashes, dots, and their mixes.
const char* const kDashes[] = {"", "7,3", "2,2", "7,3,2,3", "12,4", "4,2,1,2,1,2", "1,3", "10,3,2,3,2,3"};

const std::map<std::string, MethodStyle>& fixed_styles() {
  static const std::map<std::string, MethodStyle> styles = [] {
    std::map<std::string, MethodStyle> s;
    const MethodStyle baseline{"#000000", Marker::Star, ""};
    s["none"] = s["baseline"] = s["uncompressed"] = baseline;
    s["lowrank"] = {"#0072B2", Marker::Circle, "7,3"};
    s["simhash"] = {"#D55E00", Marker::Square, "2,2"};
    s["kmeans"] = {"#009E73", Marker::Triangle, "7,3,2,3"};
    s["dictionary"] = {"#CC79A7", Marker::Diamond, "12,4"};
    s["prune"] = {"#E69F00", Marker::TriangleDown, "4,2,1,2,1,2"};
    s["prune_grad"] = {"#56B4E9", Marker::Cross, "1,3"};
    s["quantize"] = {"#7F7F7F", Marker::Plus, "10,3,2,3,2,3"};
    s["prefix"] = {"#7F7F7F", Marker::None, ""};
    return s;
  }();
  return styles;
}

// FNV-1a: the same number for the same name on every platform and run (std::hash is not).
uint64_t stable_hash(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace

bool has_fixed_style(const std::string& method) { return fixed_styles().count(method) > 0; }

MethodStyle method_style(const std::string& method) {
  const auto& fixed = fixed_styles();
  if (const auto it = fixed.find(method); it != fixed.end()) return it->second;
  // Three independent digits of the hash: colour, marker and dash pattern.
  const uint64_t h = stable_hash(method);
  constexpr uint64_t n = 8;
  return {kPalette[h % n], kMarkers[(h / n) % n], kDashes[(h / (n * n)) % n]};
}

double luminance(const std::string& colour) {
  MC_CHECK(colour.size() == 7 && colour[0] == '#', ValueError, "colour '" << colour << "' is not #RRGGBB");
  const auto channel = [&](int i) {
    const double c = static_cast<double>(std::strtol(colour.substr(1 + 2 * i, 2).c_str(), nullptr, 16)) / 255.0;
    return c <= 0.03928 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4);  // sRGB to linear
  };
  return 0.2126 * channel(0) + 0.7152 * channel(1) + 0.0722 * channel(2);
}

const char* marker_name(Marker m) {
  switch (m) {
    case Marker::Circle: return "circle";
    case Marker::Square: return "square";
    case Marker::Triangle: return "triangle";
    case Marker::Diamond: return "diamond";
    case Marker::TriangleDown: return "triangle-down";
    case Marker::Cross: return "cross";
    case Marker::Plus: return "plus";
    case Marker::Star: return "star";
    case Marker::None: return "none";
  }
  return "none";
}

}  // namespace mc::plot
