#include "matcomp/formats/checkpoint.h"

#include <cstring>
#include <set>
#include <sstream>

#include "matcomp/core/error.h"
#include "matcomp/layers/modules/module_factory.h"
#include "matcomp/formats/safetensors.h"

namespace mc {

namespace {

std::string hex(uint64_t v) {
  std::ostringstream s;
  s << std::hex << v;
  return s.str();
}

// IoError naming the entry for anything but 1-16 hex digits (std::stoull alone would say only
// "stoull", and would accept "12zz" as 0x12).
uint64_t from_hex(const std::string& s, const std::string& entry) {
  MC_CHECK(!s.empty() && s.size() <= 16 && s.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos, IoError,
           "checkpoint entry " << entry << " is \"" << s << "\", expected 1 to 16 hex digits (a corrupt Rng state)");
  return std::stoull(s, nullptr, 16);
}

Tensor to_tensor(const NpyArray& a) {
  Tensor t = Tensor::empty(a.shape);
  if (!a.bytes.empty()) std::memcpy(t.data(), a.bytes.data(), a.bytes.size());
  return t;
}

// Collects every problem before throwing, so one failed load lists all of them.
struct Problems {
  std::vector<std::string> lines;
  void add(const std::string& s) { lines.push_back(s); }
  void throw_if_any(const std::string& what) const {
    if (lines.empty()) return;
    std::string msg = what + ":";
    for (const std::string& l : lines) msg += "\n  " + l;
    throw IoError(msg);
  }
};

// Checks one family of float32 tensors ("model.", "ema.") against the expected names and shapes.
void check_family(const Checkpoint& ck, const std::string& prefix, const std::map<std::string, Shape>& expected,
                  Problems& problems, bool allow_missing = false) {
  for (const auto& [name, shape] : expected) {
    auto it = ck.tensors.find(prefix + name);
    if (it == ck.tensors.end()) {
      if (!allow_missing) problems.add("missing '" + prefix + name + "' (shape " + to_string(shape) + ") in the checkpoint");
      continue;
    }
    if (it->second.dtype != "<f4") problems.add("'" + prefix + name + "' has dtype " + it->second.dtype + ", expected <f4");
    if (it->second.shape != shape)
      problems.add("shape mismatch for '" + prefix + name + "': checkpoint " + to_string(it->second.shape) + " vs model " +
                   to_string(shape));
  }
  for (const auto& [full, a] : ck.tensors) {
    if (full.rfind(prefix, 0) != 0) continue;
    if (!expected.count(full.substr(prefix.size())))
      problems.add("unexpected '" + full + "' in the checkpoint: the model has no such entry");
  }
}

// The typed states ("state."): any dtype, but the saved one must match the model's.
void check_states(const Checkpoint& ck, const Module& model, Problems& problems) {
  std::map<std::string, const NpyArray*> expected;
  const auto states = model.named_states();
  for (const auto& [name, a] : states) expected.emplace(name, &a);
  for (const auto& [name, a] : expected) {
    auto it = ck.tensors.find("state." + name);
    if (it == ck.tensors.end()) problems.add("missing 'state." + name + "' (" + a->dtype + " " + to_string(a->shape) + ") in the checkpoint");
    else if (it->second.dtype != a->dtype || it->second.shape != a->shape)
      problems.add("'state." + name + "' is " + it->second.dtype + " " + to_string(it->second.shape) + " in the checkpoint, " +
                   a->dtype + " " + to_string(a->shape) + " in the model");
  }
  for (const auto& [full, a] : ck.tensors)
    if (full.rfind("state.", 0) == 0 && !expected.count(full.substr(6)))
      problems.add("unexpected '" + full + "' in the checkpoint: the model has no such state");
}

}  // namespace

void save_checkpoint(const std::string& path, const Module& model, const Optimizer* optimizer, int64_t step,
                     const Rng* rng, const ExponentialMovingAverage* ema, const nlohmann::json& extra,
                     const std::map<std::string, NpyArray>& extra_tensors) {
  nlohmann::json meta = {{"format", "matcomp-checkpoint"},
                         {"format_version", kCheckpointFormatVersion},
                         {"step", step},
                         {"model_type", model.type()},
                         {"structure", describe_structure(model)}};
  std::vector<std::pair<std::string, NpyArray>> tensors;
  for (const auto& [name, var] : model.named_parameters()) tensors.emplace_back("model." + name, to_npy_array(var.value()));
  for (const auto& [name, t] : model.named_buffers()) tensors.emplace_back("buffer." + name, to_npy_array(t));
  for (auto& [name, a] : model.named_states()) tensors.emplace_back("state." + name, std::move(a));
  if (optimizer) {
    meta["optimizer"] = {{"type", optimizer->type()},
                         {"config", optimizer->config()},
                         {"steps", optimizer->steps()},
                         {"learning_rate", optimizer->learning_rate()}};
    for (const auto& [name, slots] : optimizer->state())
      for (const auto& [slot, t] : slots) tensors.emplace_back("optim." + name + "." + slot, to_npy_array(t));
  }
  if (ema) {
    meta["ema"] = {{"decay", ema->decay()}, {"num_updates", ema->num_updates()}};
    for (const auto& [name, t] : ema->shadow()) tensors.emplace_back("ema." + name, to_npy_array(t));
  }
  if (rng) {
    const Rng::State s = rng->state();
    meta["rng"] = {{"s", {hex(s.s[0]), hex(s.s[1]), hex(s.s[2]), hex(s.s[3])}},
                   {"spare_bits", hex(s.spare_bits)},
                   {"has_spare", hex(s.has_spare)}};
  }
  meta["extra"] = extra.is_null() ? nlohmann::json::object() : extra;
  for (const auto& [name, a] : extra_tensors) tensors.emplace_back("extra." + name, a);
  write_safetensors(path, {{"matcomp", meta.dump()}}, tensors);
}

Checkpoint read_checkpoint(const std::string& path) {
  SafetensorsContents c = read_safetensors(path);
  auto m = c.metadata.find("matcomp");
  MC_CHECK(m != c.metadata.end(), IoError,
           path << ": not a matcomp checkpoint (a safetensors file without the \"matcomp\" metadata entry)");
  Checkpoint ck;
  try {
    ck.metadata = nlohmann::json::parse(m->second);
  } catch (const nlohmann::json::exception& e) {
    throw IoError(path + ": malformed matcomp metadata: " + e.what());
  }
  MC_CHECK(ck.metadata.is_object() && ck.metadata.value("format", "") == "matcomp-checkpoint", IoError,
           path << ": not a matcomp checkpoint (metadata format is not \"matcomp-checkpoint\")");
  const int version = ck.metadata.value("format_version", -1);
  MC_CHECK(version != 1, IoError,
           path << ": checkpoint format_version 1 is not supported (this build reads " << kCheckpointFormatVersion
                << "): version 1 kept the compression state beside the model; train again, or resume with the build "
                   "that wrote it");
  MC_CHECK(version == kCheckpointFormatVersion, IoError,
           path << ": checkpoint format_version " << version << " is not supported (this build reads "
                << kCheckpointFormatVersion << ")");
  MC_CHECK(ck.metadata.contains("step") && ck.metadata["step"].is_number_integer(), IoError, path << ": metadata has no integer step");
  ck.tensors = std::move(c.tensors);
  return ck;
}

void apply_checkpoint(const Checkpoint& ck, Module& model, Optimizer* optimizer, Rng* rng, ExponentialMovingAverage* ema) {
  const nlohmann::json& meta = ck.metadata;
  MC_CHECK(meta.contains("structure"), IoError, "checkpoint metadata has no \"structure\" (the saved model's modules)");
  rebuild_structure(model, meta["structure"]);
  Problems problems;
  std::map<std::string, Shape> params, buffers;
  for (const auto& [name, var] : model.named_parameters()) params.emplace(name, var.shape());
  for (const auto& [name, t] : model.named_buffers()) buffers.emplace(name, t.shape());
  check_family(ck, "model.", params, problems);
  check_family(ck, "buffer.", buffers, problems);
  check_states(ck, model, problems);

  if (optimizer) {
    if (!meta.contains("optimizer")) problems.add("the checkpoint holds no optimizer state (saved without an optimizer)");
    else if (meta["optimizer"].value("type", "") != optimizer->type())
      problems.add("optimizer type mismatch: checkpoint " + meta["optimizer"].value("type", "") + " vs " + optimizer->type());
  }
  for (const auto& [full, a] : ck.tensors) {
    if (full.rfind("optim.", 0) != 0 || !optimizer) continue;
    const size_t dot = full.rfind('.');
    const std::string name = full.substr(6, dot - 6);
    auto p = params.find(name);
    if (dot <= 6 || p == params.end()) problems.add("unexpected '" + full + "': optimizer state for a parameter the model does not have");
    else if (a.dtype != "<f4") problems.add("'" + full + "' has dtype " + a.dtype + ", expected <f4");
    else if (a.shape != p->second && a.shape != Shape{})  // scalar slots such as Adam's "step"
      problems.add("shape mismatch for '" + full + "': checkpoint " + to_string(a.shape) + " vs model " + to_string(p->second));
  }
  if (ema) {
    if (!meta.contains("ema")) problems.add("the checkpoint holds no EMA (saved without one)");
    else check_family(ck, "ema.", params, problems, /*allow_missing=*/true);
  }
  if (rng && !meta.contains("rng")) problems.add("the checkpoint holds no Rng state (saved without one)");
  problems.throw_if_any("checkpoint does not match the model");

  // Everything checked: now load, in place so views of the parameters stay valid.
  for (auto& [name, var] : model.named_parameters()) var.value().copy_from(to_tensor(ck.tensors.at("model." + name)));
  for (auto& [name, t] : model.named_buffers()) {
    Tensor dst = t;  // shares storage with the registered buffer
    dst.copy_from(to_tensor(ck.tensors.at("buffer." + name)));
  }
  for (const auto& [name, a] : model.named_states()) model.set_state(name, ck.tensors.at("state." + name));
  for (const auto& [path, m] : model.named_modules()) m->on_values_loaded();
  model.on_values_loaded();
  if (optimizer) {
    const nlohmann::json& o = meta["optimizer"];
    optimizer->state().clear();
    optimizer->sync_with_model();  // forgets previous owners
    for (const auto& [full, a] : ck.tensors) {
      if (full.rfind("optim.", 0) != 0) continue;
      const size_t dot = full.rfind('.');
      optimizer->state()[full.substr(6, dot - 6)][full.substr(dot + 1)] = to_tensor(a);
    }
    optimizer->set_steps(o.at("steps").get<int64_t>());
    optimizer->set_learning_rate(o.at("learning_rate").get<float>());
    optimizer->sync_with_model();  // adopts the loaded state for the current Vars
  }
  if (ema) {
    ema->shadow().clear();
    ema->sync_with_model();
    for (const auto& [full, a] : ck.tensors)
      if (full.rfind("ema.", 0) == 0) ema->shadow()[full.substr(4)] = to_tensor(a);
    ema->set_num_updates(meta["ema"].at("num_updates").get<int64_t>());
    ema->sync_with_model();
  }
  if (rng) {
    const nlohmann::json& r = meta["rng"];
    Rng::State s{};
    try {
      for (size_t i = 0; i < 4; ++i) s.s[i] = from_hex(r.at("s").at(i).get<std::string>(), "rng.s[" + std::to_string(i) + "]");
      s.spare_bits = from_hex(r.at("spare_bits").get<std::string>(), "rng.spare_bits");
      s.has_spare = from_hex(r.at("has_spare").get<std::string>(), "rng.has_spare");
    } catch (const nlohmann::json::exception& e) {
      throw IoError(std::string("checkpoint Rng state is malformed: ") + e.what());
    }
    rng->set_state(s);
  }
}

}  // namespace mc
