// Figures as files: the SVG the plots draw, and beside it the same figure as PDF (what a paper
// includes) when a converter is installed: rsvg-convert, from the Debian package librsvg2-bin.
// Without one the SVG is still written, a note saying what to install is printed once per
// process, and nothing fails.
#pragma once

#include <string>

namespace mc::plot {

struct Figure;

// The converter's path found on PATH ("" when there is none); looked up once.
const std::string& pdf_converter();

// Writes svg_text to svg_path (atomically), then svg_path with ".pdf" for ".svg" when a
// converter exists. Returns whether the PDF was written; a failed conversion prints a warning.
bool write_svg_and_pdf(const std::string& svg_path, const std::string& svg_text);

// render_svg(figure) written as above.
bool write_figure(const std::string& svg_path, const Figure& figure);

}  // namespace mc::plot
