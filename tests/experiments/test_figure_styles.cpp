// One style per method in every figure the project draws: the sweeps' metric plots, the
// three-seed summaries (error bars) and scripts/factorizer_report.py's plots (Python) give
// every method the same colour, marker and dash pattern, read back from the SVG legends. Also:
// the reference's published points on the CIFAR-10 figures, axis labels never smaller than the
// tick labels at paper size, and the seeds' summary redrawn from a published folder.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/experiments/real_data.h"
#include "tests/support/run_command.h"
#include "experiments/lib/reference_points.h"
#include "experiments/lib/results_table.h"
#include "experiments/plot/svg_plot.h"
#include "matcomp/compression/registry.h"

namespace fs = std::filesystem;

namespace {

struct Look {
  std::string colour, marker, dash;  // dash normalised to the pattern's ratios
  bool operator==(const Look& o) const { return colour == o.colour && marker == o.marker && dash == o.dash; }
};

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string attribute(const std::string& element, const std::string& name) {
  const std::regex re(" " + name + "=\"([^\"]*)\"");
  std::smatch m;
  return std::regex_search(element, m, re) ? m[1].str() : "";
}

// A dash pattern divided by its first value, so patterns drawn at different line widths compare.
std::string normalised(const std::string& dash) {
  if (dash.empty()) return "";
  std::vector<double> v;
  std::stringstream in(dash);
  for (std::string item; std::getline(in, item, ',');) v.push_back(std::stod(item));
  std::ostringstream out;
  for (size_t i = 0; i < v.size(); ++i) out << (i ? "," : "") << std::lround(100 * v[i] / v[0]);
  return out.str();
}

// Label -> look, from a legend drawn as: a sample line, the marker, the label.
std::map<std::string, Look> legend_looks(const std::string& svg) {
  std::map<std::string, Look> out;
  const std::regex label_re("<text class=\"legend-label\"[^>]*>([^<]*)</text>");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), label_re); it != std::sregex_iterator(); ++it) {
    const size_t at = static_cast<size_t>(it->position());
    const size_t line_at = svg.rfind("<line", at), marker_at = svg.rfind("class=\"marker\"", at);
    if (line_at == std::string::npos) continue;
    const std::string line = svg.substr(line_at, svg.find('>', line_at) - line_at);
    Look look{attribute(line, "stroke"), "", normalised(attribute(line, "stroke-dasharray"))};
    if (marker_at != std::string::npos && marker_at > line_at)
      look.marker = attribute(svg.substr(marker_at, svg.find('>', marker_at) - marker_at), "data-shape");
    out[(*it)[1].str()] = look;
  }
  return out;
}

// A results table with every registered method (and one the style table does not know) at
// two ratios, and the uncompressed model.
std::vector<nlohmann::json> table_rows(const std::vector<std::string>& methods, bool with_spread) {
  std::vector<nlohmann::json> rows;
  const auto row = [&](const std::string& m, double ratio, double value) {
    nlohmann::json r{{"method", m}, {"ratio", ratio}, {"achieved_ratio", ratio}, {"disk_bytes", 1e6 * ratio}, {"accuracy", value}};
    if (with_spread) r["accuracy_std"] = 0.01;
    rows.push_back(r);
  };
  row("none", 1, 0.9);
  for (size_t i = 0; i < methods.size(); ++i) {
    row(methods[i], 0.5, 0.8 - 0.01 * static_cast<double>(i));
    row(methods[i], 0.1, 0.6 - 0.01 * static_cast<double>(i));
  }
  return rows;
}

// Google Benchmark JSON with BM_Factor cases of the same methods, for the Python report.
std::string factor_json(const std::vector<std::string>& methods) {
  nlohmann::json doc{{"context", nlohmann::json::object()}, {"benchmarks", nlohmann::json::array()}};
  for (const std::string& m : methods)
    for (double ratio : {0.5, 0.1})
      doc["benchmarks"].push_back({{"name", "BM_Factor/" + m + "/384x192/r" + std::to_string(ratio) + "/decay1/real_time"},
                                   {"run_type", "iteration"}, {"real_time", 1e6 * ratio}, {"time_unit", "ns"},
                                   {"rel_error", 0.5 - ratio / 2}, {"stored_bytes", 294912 * ratio}, {"achieved_ratio", ratio},
                                   {"label", "{}"}});
  return doc.dump();
}

class FigureStyles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() / ("matcomp_figure_styles_" + std::to_string(getpid()))).string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    methods_ = mc::registered_methods();
    methods_.push_back("my_method");  // a user's method: its look comes from its name's hash
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
  std::vector<std::string> methods_;
};

TEST_F(FigureStyles, EveryMethodLooksTheSameInEveryKindOfFigure) {
  // The sweep's plot and the seeds' summary (error bars), both drawn in C++.
  mc::MetricPlots sweep{"CIFAR-10", "accuracy", "quick", false, "", "uncompressed"};
  mc::write_metric_plots(dir_ + "/sweep", table_rows(methods_, false), sweep);
  mc::MetricPlots seeds{"CIFAR-10", "accuracy", "quick, 3 seeds", false, "accuracy_std", "uncompressed (mean)"};
  fs::create_directories(dir_ + "/seeds");
  mc::write_metric_plots(dir_ + "/seeds", table_rows(methods_, true), seeds);
  // The factorizer report, drawn by Python.
  {
    std::ofstream(dir_ + "/factor.json") << factor_json(methods_);
  }
  const std::string command = std::string(MATCOMP_PYTHON3) + " " + MATCOMP_SOURCE_DIR + "/scripts/factorizer_report.py " + dir_ +
                              "/factor.json --markdown " + dir_ + "/factor.md --svg " + dir_ + "/factor";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;

  const std::map<std::string, std::map<std::string, Look>> figures{
      {"sweep plot", legend_looks(read(dir_ + "/sweep/accuracy_vs_ratio.svg"))},
      {"seeds' summary", legend_looks(read(dir_ + "/seeds/accuracy_vs_ratio.svg"))},
      {"factorizer report", legend_looks(read(dir_ + "/factor-error.svg"))}};
  for (const std::string& m : methods_) {
    const Look& expected = figures.at("sweep plot").count(m) ? figures.at("sweep plot").at(m) : Look{};
    EXPECT_FALSE(expected.colour.empty()) << m << " has no legend entry in the sweep plot";
    EXPECT_FALSE(expected.marker.empty()) << m << " has no marker in the sweep plot's legend";
    for (const auto& [figure, looks] : figures) {
      ASSERT_TRUE(looks.count(m)) << m << " has no legend entry in the " << figure;
      EXPECT_EQ(looks.at(m).colour, expected.colour) << m << "'s colour in the " << figure;
      EXPECT_EQ(looks.at(m).marker, expected.marker) << m << "'s marker in the " << figure;
      EXPECT_EQ(looks.at(m).dash, expected.dash) << m << "'s dash pattern in the " << figure;
    }
  }
}

TEST_F(FigureStyles, TheReferencesPointsAreOnTheCifarFiguresOfTheLongPresets) {
  EXPECT_TRUE(mc::reference_points("cifar10", "quick").empty()) << "the quick preset is too short to be read against them";
  EXPECT_TRUE(mc::reference_points("ptb", "standard").empty()) << "the reference publishes no PTB perplexity";
  const auto points = mc::reference_points("cifar10", "fast");
  ASSERT_EQ(points.size(), 4u);
  mc::MetricPlots style{"CIFAR-10", "accuracy", "fast", false, "", "uncompressed"};
  style.references = points;
  mc::write_metric_plots(dir_, table_rows({"lowrank", "prune"}, false), style);
  const std::string svg = read(dir_ + "/accuracy_vs_ratio.svg");
  for (const char* label : {"reference 84.3 %", "reference 83.9 %", "reference 86 %", "reference 77 %"})
    EXPECT_NE(svg.find(std::string(">") + label + "<"), std::string::npos) << label << " is not on the figure";
  size_t hollow = 0;
  for (size_t p = svg.find("<g class=\"reference\">"); p != std::string::npos; p = svg.find("<g class=\"reference\">", p + 1)) ++hollow;
  EXPECT_EQ(hollow, 4u) << "one hollow marker per published point";
}

TEST_F(FigureStyles, AxisLabelsAreNeverSmallerThanTickLabelsAtPaperSize) {
  mc::MetricPlots style{"CIFAR-10", "accuracy", "standard", false, "", "uncompressed"};
  style.size = {3.3, 0, 8};  // a one-column paper figure, 8 pt text
  style.references = mc::reference_points("cifar10", "standard");
  mc::write_metric_plots(dir_, table_rows(methods_, false), style);
  const std::string svg = read(dir_ + "/accuracy_vs_ratio.svg");
  const double base = std::stod(attribute(svg.substr(0, svg.find('>')), "font-size"));
  size_t labels = 0;
  for (size_t p = svg.find("class=\"axis-label\""); p != std::string::npos; p = svg.find("class=\"axis-label\"", p + 1), ++labels) {
    const std::string element = svg.substr(p, svg.find('>', p) - p);
    const std::string size = attribute(element, "font-size");
    EXPECT_TRUE(size.empty() || std::stod(size) >= base) << "an axis label set at " << size << " under the ticks' " << base;
  }
  EXPECT_GE(labels, 2u) << "both axes are labelled";
  for (size_t p = svg.find("class=\"tick-label\""); p != std::string::npos; p = svg.find("class=\"tick-label\"", p + 1))
    EXPECT_TRUE(attribute(svg.substr(p, svg.find('>', p) - p), "font-size").empty()) << "tick labels at the page's size";
}

// A published three-seed folder (docs/results/*-seeds: each seed's results.csv, no branches)
// redrawn with --results-only: the summary table is kept as it is and the plots drawn from it
// (it used to be rewritten from the missing branches: an empty table and empty plots).
TEST_F(FigureStyles, APublishedSeedSummaryIsRedrawnNotErased) {
  REQUIRE_DATA();
  const std::string published = std::string(MATCOMP_SOURCE_DIR) + "/docs/results/ptb-quick-seeds";
  fs::copy(published, dir_ + "/seeds", fs::copy_options::recursive);
  for (const char* svg : {"/seeds/perplexity_vs_ratio.svg", "/seeds/perplexity_vs_disk.svg"}) fs::remove(dir_ + svg);
  const std::string before = read(dir_ + "/seeds/results.csv");
  const auto r = matcomp_test::run_command(std::string(MATCOMP_BINARY_DIR) + "/bin/ptb-compare --data '" +
                                           matcomp_test::data_dir() + "' --preset quick --only lowrank,dictionary --seeds 1,2,3 --out '" +
                                           dir_ + "/seeds' --results-only");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("redrew the summary plots"), std::string::npos) << r.out;
  EXPECT_EQ(read(dir_ + "/seeds/results.csv"), before) << "the summary table changed";
  const std::string svg = read(dir_ + "/seeds/perplexity_vs_ratio.svg");
  const auto looks = legend_looks(svg);
  EXPECT_TRUE(looks.count("lowrank") && looks.count("dictionary")) << "the redrawn summary has no lines";
  EXPECT_NE(svg.find("class=\"error-bar\""), std::string::npos) << "no error bars over the seeds";
}

}  // namespace
