// PTB comparison: see experiments/lib/compare_cli.cpp and docs/EXPERIMENTS.md.
#include "experiments/lib/compare_cli.h"

int main(int argc, char** argv) { return mc::compare_main(argc, argv, "ptb"); }
