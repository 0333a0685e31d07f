// The world communicator of the multi-rank tests (set up in main.cpp).
#pragma once

#include "matcomp/distributed/communicator.h"

namespace mc_test {
extern mc::Communicator* g_world;
}
