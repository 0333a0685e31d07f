#include "experiments/plot/method_style.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <vector>

#include <nlohmann/json.hpp>

#include "matcomp/core/error.h"

namespace mc::plot {

extern const char* const kMethodStylesJson;

namespace {

// The table, compiled in from method_styles.json (experiments/CMakeLists.txt).
Marker marker_from_name(const std::string& name) {
  for (Marker m : {Marker::Circle, Marker::Square, Marker::Triangle, Marker::Diamond, Marker::TriangleDown, Marker::Cross,
                   Marker::Plus, Marker::Star, Marker::None})
    if (name == marker_name(m)) return m;
  throw ValueError("method_styles.json: unknown marker '" + name + "'");
}

struct StyleTable {
  std::vector<std::string> palette, dashes;
  std::vector<Marker> markers;
  std::map<std::string, MethodStyle> fixed;
};

const StyleTable& table() {
  static const StyleTable t = [] {
    const nlohmann::json j = nlohmann::json::parse(kMethodStylesJson);
    StyleTable out;
    out.palette = j.at("palette").get<std::vector<std::string>>();
    out.dashes = j.at("dashes").get<std::vector<std::string>>();
    for (const auto& m : j.at("markers")) out.markers.push_back(marker_from_name(m.get<std::string>()));
    MC_CHECK(out.palette.size() == out.markers.size() && out.markers.size() == out.dashes.size(), ValueError,
             "method_styles.json: palette, markers and dashes must be as long as each other");
    for (const auto& [name, s] : j.at("methods").items())
      out.fixed[name] = {s.at("colour").get<std::string>(), marker_from_name(s.at("marker").get<std::string>()),
                         s.at("dash").get<std::string>()};
    return out;
  }();
  return t;
}

const std::map<std::string, MethodStyle>& fixed_styles() { return table().fixed; }

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
  // Three independent digits of the hash: colour, marker and dash pattern (scripts/
  // factorizer_report.py does the same).
  const StyleTable& t = table();
  const uint64_t h = stable_hash(method), n = t.palette.size();
  return {t.palette[h % n], t.markers[(h / n) % n], t.dashes[(h / (n * n)) % n]};
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
