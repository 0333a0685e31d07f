#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <sstream>

#include <filesystem>
#include <regex>

#include "matcomp/core/atomic_file.h"
#include "matcomp/core/error.h"
#include "experiments/lib/results_table.h"
#include "experiments/lib/run_log.h"
#include "experiments/plot/svg_plot.h"

TEST(SvgPlot, OneLinePerSeriesBaselineAndEventMarker) {
  mc::plot::Figure f;
  f.title = "accuracy vs ratio <test>";
  f.x_label = "ratio";
  f.y_label = "accuracy";
  f.log_x = true;
  f.series.push_back({"lowrank", {0.05, 0.1, 0.25, 0.5}, {0.7, 0.78, 0.82, 0.84}});
  f.series.push_back({"kmeans", {0.05, 0.1, 0.25, 0.5}, {0.6, 0.7, 0.8, 0.83}});
  f.horizontal.push_back({"uncompressed", 0.85});
  f.vertical.push_back({"compression begins", 0.2});
  const std::string svg = mc::plot::render_svg(f);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  const auto count = [&](const std::string& what) {
    size_t n = 0;
    for (size_t p = svg.find(what); p != std::string::npos; p = svg.find(what, p + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("<polyline"), 2u);
  EXPECT_EQ(count("stroke-dasharray=\"6,4\""), 1u);  // the baseline
  EXPECT_EQ(count("stroke-dasharray=\"4,3\""), 1u);  // the event marker
  EXPECT_NE(svg.find("&lt;test&gt;"), std::string::npos);  // escaped title
  EXPECT_EQ(svg.find("nan"), std::string::npos);
}

TEST(SvgPlot, LogYAxisPlacesDecadesEvenlyAndSkipsNonPositiveValues) {
  mc::plot::Figure f;
  f.log_y = true;
  f.series.push_back({"perplexity", {1, 2, 3, 4}, {100, 1000, 10000, -1}});  // -1 cannot be drawn on a log axis
  f.horizontal.push_back({"uncompressed", 100});
  const std::string svg = mc::plot::render_svg(f);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_NE(svg.find("(log scale)"), std::string::npos);
  // The polyline's three points: equal steps in log10(y) are equal steps on the page.
  const size_t at = svg.find("points=\"");
  ASSERT_NE(at, std::string::npos);
  std::istringstream points(svg.substr(at + 8));
  double y[3];
  for (double& v : y) {
    double x;
    char comma;
    points >> x >> comma >> v;
  }
  EXPECT_NEAR(y[0] - y[1], y[1] - y[2], 1e-3);  // coordinates are printed to 6 digits
  EXPECT_GT(y[0] - y[1], 10);  // and a decade is visibly tall
}

TEST(SvgPlot, ShortLogRangesStillGetSeveralLabelledTicks) {
  // Perplexity 105..200 against 8..17 MB: under one decade on both log axes.
  mc::plot::Figure f;
  f.log_x = f.log_y = true;
  f.series.push_back({"prune", {7.8, 9.8, 12.3, 17.3}, {136.8, 118.4, 106.0, 105.8}});
  f.series.push_back({"lowrank", {7.9, 8.4, 9.9, 12.4}, {192.4, 150.9, 126.9, 121.4}});
  const std::string svg = mc::plot::render_svg(f);
  for (const char* label : {">120<", ">160<", ">10<", ">14<"})
    EXPECT_NE(svg.find(label), std::string::npos) << label;
  EXPECT_EQ(svg.find("nan"), std::string::npos);
}

TEST(SvgPlot, ErrorBarsAreDrawnInsideThePlotAndCheckedForLength) {
  mc::plot::Figure f;
  f.series.push_back({"kmeans", {0.1, 0.25, 0.5}, {0.80, 0.82, 0.83}, {0.01, 0.0, 0.05}});  // the 0 draws no bar
  const std::string svg = mc::plot::render_svg(f);
  size_t bars = 0;
  for (size_t p = svg.find("class=\"error-bar\""); p != std::string::npos; p = svg.find("class=\"error-bar\"", p + 1)) ++bars;
  EXPECT_EQ(bars, 2u);
  // The axis grows to hold 0.83 + 0.05: a tick at 0.88 or above exists, the points alone end at 0.83.
  EXPECT_NE(svg.find(">0.88<"), std::string::npos) << svg;
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  f.series[0].y_err.pop_back();
  EXPECT_THROW(mc::plot::render_svg(f), mc::ValueError);
}

TEST(SvgPlot, LongTitlesStayOnThePage) {
  mc::plot::Figure f;
  f.title = "PTB: perplexity vs compression ratio (quick, 3 seeds: mean and standard deviation)";
  f.series.push_back({"lowrank", {0.1, 0.5}, {180, 150}});
  const std::string svg = mc::plot::render_svg(f);
  const size_t at = svg.find("font-weight=\"bold\"");
  ASSERT_NE(at, std::string::npos);
  const size_t x_at = svg.rfind("<text x=\"", at), size_at = svg.rfind("font-size=\"", at);
  const double x = std::stod(svg.substr(x_at + 9)), size = std::stod(svg.substr(size_at + 11));
  EXPECT_LT(size, 15) << "84 characters in 15 px bold are wider than 720 px";
  const double half = 0.3 * size * static_cast<double>(f.title.size());
  EXPECT_GE(x - half, 0.0);
  EXPECT_LE(x + half, f.width);
}

TEST(SvgPlot, StepTicksReadAsThousands) {
  mc::plot::Figure f;
  f.series.push_back({"loss", {24000, 26000}, {0.4, 0.3}});  // ticks every 500 steps
  const std::string svg = mc::plot::render_svg(f);
  EXPECT_NE(svg.find(">24.5k<"), std::string::npos);
  EXPECT_NE(svg.find(">25k<"), std::string::npos);
  EXPECT_EQ(svg.find("e+04"), std::string::npos);
}

TEST(RunLog, AppendsTruncatesOnResumeAndReadsBack) {
  const std::string prefix = ::testing::TempDir() + "/runlog_test/branch";
  std::filesystem::remove_all(::testing::TempDir() + "/runlog_test");
  {
    mc::RunLog log(prefix, {"step", "loss", "method"});
    for (int s = 0; s < 5; ++s) log.append({{"step", s}, {"loss", 1.0 / (s + 1)}, {"method", "low,rank"}});
  }
  {
    mc::RunLog log(prefix, {"step", "loss", "method"});
    log.truncate_from(3);  // resumed from a checkpoint at step 3
    log.append({{"step", 3}, {"loss", 0.3}, {"method", "x"}});
  }
  const auto rows = mc::RunLog::read(prefix + ".jsonl");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[3]["step"], 3);
  EXPECT_DOUBLE_EQ(rows[3]["loss"].get<double>(), 0.3);
  const std::string csv = mc::read_file(prefix + ".csv");
  EXPECT_EQ(csv.rfind("step,loss,method\n", 0), 0u);
  EXPECT_NE(csv.find("\"low,rank\""), std::string::npos);  // quoted cell
  size_t lines = 0;
  for (char c : csv) lines += c == '\n';
  EXPECT_EQ(lines, 5u);
}

TEST(ResultsTable, SweepOrderBaselineFirstThenMethodsAsGivenRatiosDescending) {
  std::vector<nlohmann::json> rows;
  for (const auto& [m, r] : std::vector<std::pair<std::string, double>>{
           {"simhash", 0.1}, {"kmeans", 0.5}, {"none", 1.0}, {"simhash", 0.5}, {"zeta", 0.5}, {"kmeans", 0.1}})
    rows.push_back({{"method", m}, {"ratio", r}});
  mc::sort_results(rows, {"simhash", "kmeans"});  // not alphabetical: the order given
  std::vector<std::string> got;
  for (const auto& r : rows) got.push_back(r["method"].get<std::string>() + "-" + mc::csv_cell(r["ratio"]));
  EXPECT_EQ(got, (std::vector<std::string>{"none-1", "simhash-0.5", "simhash-0.1", "kmeans-0.5", "kmeans-0.1", "zeta-0.5"}));
  mc::sort_results(rows);  // default: the sweep's own method list (lowrank, simhash, kmeans, ...)
  EXPECT_EQ(rows[1]["method"], "simhash");
  EXPECT_EQ(rows[3]["method"], "kmeans");
  const std::string table = mc::format_results_table(rows, {"method", "ratio"});
  EXPECT_EQ(table.substr(0, table.find('\n')), "method   ratio");
  EXPECT_NE(table.find("\nsimhash  0.5\n"), std::string::npos) << table;
}

// A published sweep keeps only results.csv: its rows read back as written, and a damaged
// table is refused naming the file.
TEST(ResultsTable, ResultsCsvReadsBackWhatWasWritten) {
  const std::string dir = ::testing::TempDir() + "/matcomp_results_csv_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  const std::vector<nlohmann::json> rows{{{"method", "none"}, {"ratio", 1.0}, {"accuracy", 0.8405}},
                                         {{"method", "kmeans"}, {"ratio", 0.25}, {"accuracy", 0.8452}, {"stored_bytes", 843264}}};
  mc::write_results_csv(dir + "/results.csv", rows, {"method", "ratio", "stored_bytes", "accuracy"});
  const std::vector<nlohmann::json> back = mc::read_results_csv(dir + "/results.csv");
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0]["method"], "none");
  EXPECT_FALSE(back[0].contains("stored_bytes")) << "an empty cell is left out";
  EXPECT_DOUBLE_EQ(back[1]["accuracy"].get<double>(), 0.8452);
  EXPECT_DOUBLE_EQ(back[1]["stored_bytes"].get<double>(), 843264);
  mc::write_file_atomically(dir + "/bad.csv", "method,ratio\nnone,1,2\n");
  try {
    mc::read_results_csv(dir + "/bad.csv");
    ADD_FAILURE() << "a row longer than the header was accepted";
  } catch (const mc::IoError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.csv:2"), std::string::npos) << e.what();
  }
  mc::write_file_atomically(dir + "/nomethod.csv", "ratio\n1\n");
  EXPECT_THROW(mc::read_results_csv(dir + "/nomethod.csv"), mc::IoError);
  std::filesystem::remove_all(dir);
}

TEST(RunLog, FloatsAreLoggedWithoutWideningNoise) {
  EXPECT_EQ(nlohmann::json(mc::float_for_log(0.1f)).dump(), "0.1");
  EXPECT_EQ(nlohmann::json(static_cast<double>(0.1f)).dump(), "0.10000000149011612");  // what it replaces
  EXPECT_EQ(mc::float_for_log(2.302585f), 2.302585);
  EXPECT_EQ(static_cast<float>(mc::float_for_log(1.0f / 3.0f)), 1.0f / 3.0f);  // still the same float
  EXPECT_TRUE(std::isnan(mc::float_for_log(NAN)));
}
