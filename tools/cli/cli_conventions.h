// What every matcomp command-line tool does the same way:
//   exit 0 on success (and for --help, --version), 2 for usage errors (bad flags, bad values,
//   caught before anything is created), 1 for runtime errors (unreadable files, failed runs);
//   --version prints the version and the git revision it was built from;
//   --help shows each option's default.
//
//   CLI::App app{"what it does"};
//   mc::cli::setup(app, "matcomp-x");            // before any add_option: defaults in --help
//   app.add_option("--steps", steps, "...");
//   if (int rc = mc::cli::parse(app, argc, argv); rc >= 0) return rc;
//   return mc::cli::run("matcomp-x", [&] { ...; return 0; });
#pragma once

#include <functional>
#include <string>

namespace CLI {
class App;
}

namespace mc::cli {

constexpr int kRuntimeError = 1;
constexpr int kUsageError = 2;

// "matcomp 0.1.0 (git 0123456789ab)".
std::string version();

// The revision this binary was built from ("0123456789ab", "-dirty" when the tree had
// uncommitted changes, "unknown" outside a git checkout), written at every build
// (tools/cli/write_revision.cmake), so a binary copied away or run after later commits
// still names its own source.
const char* git_revision();

// Adds --version and makes every option added afterwards show its default in --help.
void setup(CLI::App& app, const std::string& tool);

// Parses the command line. Returns -1 to go on, or the exit code to return now: 0 after
// --help or --version, kUsageError (with the message and a pointer to --help) otherwise.
int parse(CLI::App& app, int argc, char** argv);

// A usage error found after parsing (a malformed list, a value out of range): prints
// "<tool>: error: <message>" and returns kUsageError.
int usage_error(const std::string& tool, const std::string& message);

// Runs the tool's body; an exception becomes "<tool>: error: <what>" on stderr and kRuntimeError.
int run(const std::string& tool, const std::function<int()>& body);

}  // namespace mc::cli
