#include "experiments/plot/figure_files.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <vector>

#include "matcomp/core/atomic_file.h"
#include "experiments/plot/svg_plot.h"

extern char** environ;

namespace fs = std::filesystem;

namespace mc::plot {

namespace {

std::string find_on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    const fs::path candidate = fs::path(dir) / program;
    if (::access(candidate.c_str(), X_OK) == 0 && fs::is_regular_file(candidate)) return candidate.string();
  }
  return "";
}

// Runs argv[0] with the arguments, no shell (paths may hold any character); its exit code.
int run_program(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

const std::string& pdf_converter() {
  static const std::string converter = find_on_path("rsvg-convert");
  return converter;
}

bool write_svg_and_pdf(const std::string& svg_path, const std::string& svg_text) {
  write_file_atomically(svg_path, svg_text);
  if (pdf_converter().empty()) {
    static std::once_flag told;
    std::call_once(told, [] {
      std::fprintf(stderr,
                   "plots: SVG only; for PDF copies install rsvg-convert (Debian package librsvg2-bin, also "
                   "installed by scripts/install-deps.sh)\n");
    });
    return false;
  }
  const std::string base = svg_path.size() > 4 && svg_path.compare(svg_path.size() - 4, 4, ".svg") == 0
                               ? svg_path.substr(0, svg_path.size() - 4)
                               : svg_path;
  const std::string pdf = base + ".pdf", tmp = pdf + ".tmp." + std::to_string(::getpid());
  // The SVG's width and height are in inches: the PDF page gets that size.
  const int rc = run_program({pdf_converter(), "--format=pdf", "--output=" + tmp, svg_path});
  std::error_code ec;
  if (rc != 0 || !fs::exists(tmp)) {
    fs::remove(tmp, ec);
    std::fprintf(stderr, "plots: warning: %s could not convert %s to PDF (exit code %d); the SVG is there\n",
                 pdf_converter().c_str(), svg_path.c_str(), rc);
    return false;
  }
  fs::rename(tmp, pdf, ec);
  if (ec) {
    fs::remove(tmp, ec);
    std::fprintf(stderr, "plots: warning: cannot write %s\n", pdf.c_str());
    return false;
  }
  return true;
}

bool write_figure(const std::string& svg_path, const Figure& figure) { return write_svg_and_pdf(svg_path, render_svg(figure)); }

}  // namespace mc::plot
