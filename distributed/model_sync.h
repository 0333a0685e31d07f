// Keeping every rank's model identical: start-up broadcast, the broadcast after a compression
// event, and hashes to check that ranks agree.
//
//   broadcast_model(comm, model);                       // at start-up: rank 0's initial values
//   if (compression->before_step(step))                 // an event: A factored, or a switch
//     sync_after_compression(comm, model);
//
// Why broadcast after an event when every rank factors the same A with the same seed: the
// factorisations (SVD, k-means, OMP) run through OpenBLAS/LAPACK whose results depend on the
// thread count and CPU kernel, so ranks on different machines may get factors differing in
// the last bits, and data parallelism would then silently train different models.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "matcomp/distributed/communicator.h"
#include "matcomp/layers/modules/module.h"

namespace mc {

// FNV-1a (64 bit) over every parameter's and buffer's name, shape and float bytes, in
// registry order, the structure description (module types and configs: compression methods,
// settings, phases) and the typed states (codes, masks, supports). Equal models give equal
// hashes on any machine.
uint64_t model_hash(const Module& model);
// The same over names and shapes only: equal when two models have the same structure.
uint64_t structure_hash(const Module& model);

// Every rank's value, in rank order, on every rank.
std::vector<uint64_t> all_gather(Communicator& comm, uint64_t value);

// Throws CommunicationError on every rank (the same message) unless all ranks hold `value`;
// the message names `what` and the ranks that differ from rank 0.
void check_all_equal(Communicator& comm, uint64_t value, const std::string& what);

// Every parameter's and buffer's values from `root` to all ranks, in place (same storage, so
// factors shared with a CompressedMatrix follow). Checks first that structures match.
void broadcast_model(Communicator& comm, Module& model, int root = 0);

// After CompressionController::before_step returned true: broadcast_model, then a check that
// the structure and the typed states (codes, masks: not floats, so not broadcast) agree.
void sync_after_compression(Communicator& comm, Module& model, int root = 0);

}  // namespace mc
