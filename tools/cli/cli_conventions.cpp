#include "tools/cli/cli_conventions.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#ifndef MATCOMP_VERSION
#define MATCOMP_VERSION "unknown"
#endif

namespace mc::cli {

std::string version() { return std::string("matcomp ") + MATCOMP_VERSION + " (git " + git_revision() + ")"; }

void setup(CLI::App& app, const std::string& tool) {
  app.name(tool);
  app.set_version_flag("--version", tool + " " + version());
  app.option_defaults()->always_capture_default();
}

int parse(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
    return -1;
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // CLI11's own codes (105, 109, ...) differ by kind of mistake; users and scripts want one.
    std::fprintf(stderr, "%s: error: %s\nRun with --help for more information.\n", app.get_name().c_str(), e.what());
    return kUsageError;
  }
}

int usage_error(const std::string& tool, const std::string& message) {
  std::fprintf(stderr, "%s: error: %s\nRun with --help for more information.\n", tool.c_str(), message.c_str());
  return kUsageError;
}

int run(const std::string& tool, const std::function<int()>& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", tool.c_str(), e.what());
    return kRuntimeError;
  }
}

}  // namespace mc::cli
