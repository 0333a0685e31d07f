// One look per compression method, the same in every figure: a colour (Okabe-Ito, safe for
// colour-blind readers), a marker shape and a dash pattern, all three different between the
// known methods so a greyscale print still tells them apart. Keyed by the method's name: the
// table in method_styles.json for the project's methods (compiled in; scripts/
// factorizer_report.py reads the same file), a stable hash of the name for any other (a user's
// own compressor), so a method looks the same in every plot, every run and every language.
#pragma once

#include <string>

namespace mc::plot {

enum class Marker { Circle, Square, Triangle, Diamond, TriangleDown, Cross, Plus, Star, None };

struct MethodStyle {
  std::string colour;  // "#0072B2"
  Marker marker = Marker::Circle;
  std::string dash;    // an SVG stroke-dasharray, "" for a solid line
};

// "none", "baseline" and "uncompressed" are one style (the uncompressed model); "prefix" is
// the shared training before compression.
MethodStyle method_style(const std::string& method);
// Whether `method` has a fixed entry (false: its style comes from the hash of its name).
bool has_fixed_style(const std::string& method);

// Relative luminance (0 black .. 1 white) of a "#RRGGBB" colour: what a greyscale print keeps.
double luminance(const std::string& colour);

const char* marker_name(Marker marker);  // "circle", "square", ...

}  // namespace mc::plot
