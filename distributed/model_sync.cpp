#include "matcomp/distributed/model_sync.h"

#include <cstring>
#include <sstream>

#include "matcomp/layers/modules/module_factory.h"

namespace mc {
namespace {

// FNV-1a, 64 bit: byte order and platform independent, so hashes compare across machines.
struct Fnv1a {
  uint64_t h = 1469598103934665603ull;
  void bytes(const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  }
  void text(const std::string& s) {
    bytes(s.data(), s.size());
    bytes("", 1);  // separator: "ab"+"c" differs from "a"+"bc"
  }
  void shape(const Shape& s) {
    for (int64_t d : s) bytes(&d, sizeof d);
    const int64_t end = -1;
    bytes(&end, sizeof end);
  }
};

// Names, shapes and (when with_values) values of parameters then buffers, registry order.
uint64_t hash_registry(const Module& model, bool with_values, Fnv1a& f) {
  for (const auto& [name, var] : model.named_parameters()) {
    f.text(name);
    f.shape(var.shape());
    if (with_values) f.bytes(var.value().data(), 4 * static_cast<size_t>(var.numel()));
  }
  f.text("--buffers--");
  for (const auto& [name, t] : model.named_buffers()) {
    f.text(name);
    f.shape(t.shape());
    if (with_values) f.bytes(t.data(), 4 * static_cast<size_t>(t.numel()));
  }
  return f.h;
}

// The structure description (types, configs: methods, settings, phases) and the typed states
// (codes, masks, supports, seeds), which are not floats in the registry.
void hash_structure_and_states(const Module& model, Fnv1a& f) {
  f.text(describe_structure(model).dump());
  for (const auto& [name, array] : model.named_states()) {
    f.text(name);
    f.text(array.dtype);
    f.shape(array.shape);
    f.bytes(array.bytes.data(), array.bytes.size());
  }
}

}  // namespace

uint64_t model_hash(const Module& model) {
  Fnv1a f;
  hash_registry(model, true, f);
  hash_structure_and_states(model, f);
  return f.h;
}

uint64_t structure_hash(const Module& model) {
  Fnv1a f;
  return hash_registry(model, false, f);
}

std::vector<uint64_t> all_gather(Communicator& comm, uint64_t value) {
  // Built on broadcast alone (one 8-byte message per rank): the Communicator stays small,
  // and this is used for checks, not in the training step's hot path.
  std::vector<uint64_t> out(static_cast<size_t>(comm.size()));
  for (int r = 0; r < comm.size(); ++r) {
    uint64_t v = value;
    comm.broadcast(&v, sizeof v, r);
    out[static_cast<size_t>(r)] = v;
  }
  return out;
}

void check_all_equal(Communicator& comm, uint64_t value, const std::string& what) {
  if (comm.size() == 1) return;
  uint64_t root_value = value;
  comm.broadcast(&root_value, sizeof root_value, 0);
  // One flag per rank, summed: every rank learns which ranks differ and throws the same error,
  // so none is left waiting in the next collective.
  std::vector<float> differs(static_cast<size_t>(comm.size()), 0.0f);
  differs[static_cast<size_t>(comm.rank())] = value != root_value ? 1.0f : 0.0f;
  comm.allreduce_sum(differs.data(), static_cast<int64_t>(differs.size()));
  std::ostringstream ranks;
  for (int r = 0; r < comm.size(); ++r)
    if (differs[static_cast<size_t>(r)] != 0.0f) ranks << (ranks.tellp() > 0 ? ", " : "") << r;
  MC_CHECK(ranks.tellp() == 0, CommunicationError,
           what << " differs between rank 0 and rank(s) " << ranks.str() << " (seen on rank " << comm.rank() << " of "
                << comm.size() << ")");
}

void broadcast_model(Communicator& comm, Module& model, int root) {
  if (comm.size() == 1) return;
  check_all_equal(comm, structure_hash(model), "model structure (parameter and buffer names and shapes)");
  // In place, tensor by tensor: factors share storage with their CompressedMatrix, and
  // optimizer state keyed to these Vars stays valid.
  for (auto& [name, var] : model.named_parameters()) {
    comm.broadcast(var.value().data(), var.numel(), root);
    var.value().mark_modified();
  }
  for (auto& [name, t] : model.named_buffers()) {
    Tensor tensor = t;  // a handle on the same storage
    comm.broadcast(tensor.data(), tensor.numel(), root);
    tensor.mark_modified();
  }
}

void sync_after_compression(Communicator& comm, Module& model, int root) {
  if (comm.size() == 1) return;
  broadcast_model(comm, model, root);
  // Codes, masks and supports are not floats in the registry; they come from the same
  // factorisation of the same A with the same seed, so they should agree. If they do not
  // (a compressor that is not deterministic across machines), stop rather than train
  // different models.
  Fnv1a f;
  hash_structure_and_states(model, f);
  check_all_equal(comm, f.h, "compression structure or integer state (codes, masks, supports)");
}

}  // namespace mc
