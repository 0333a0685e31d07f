// The command line shared by cifar10-compare and ptb-compare: flags, presets, the sweep.
#pragma once

#include <string>

namespace mc {

// task: "cifar10" or "ptb". Returns the process exit code; errors are printed, not thrown.
int compare_main(int argc, char** argv, const std::string& task);

}  // namespace mc
