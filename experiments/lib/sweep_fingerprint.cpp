#include "experiments/lib/sweep_fingerprint.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <sstream>

#include "matcomp/core/atomic_file.h"
#include "matcomp/core/error.h"
#include "matcomp/datasets/checksum.h"

namespace fs = std::filesystem;

namespace mc {

namespace {

const char* kFingerprintFile = "fingerprint.json";

int64_t mtime_ns(const fs::path& p) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(fs::last_write_time(p).time_since_epoch()).count();
}

// What a sweep writes at the top of its folder (the hidden ones: locks, the checksum cache).
bool written_by_sweep(const fs::path& entry) {
  const std::string name = entry.filename().string();
  const std::string ext = entry.extension().string();
  return name == "prefix" || name == "branches" || name == kFingerprintFile || name == "results.csv" ||
         name == ".data-checksums.json" || name == ".sweep.lock" || name == ".prefix.lock" || name.rfind("seed-", 0) == 0 ||
         (name.rfind("run-", 0) == 0 && ext == ".json") || ext == ".svg";
}

std::string leaf_text(const nlohmann::json& v) { return v.is_null() ? "(absent)" : v.dump(); }

}  // namespace

nlohmann::json data_checksums(const std::string& data_dir, const std::vector<std::string>& files,
                              const std::string& cache_path) {
  nlohmann::json cache = nlohmann::json::object();
  if (fs::exists(cache_path)) {
    cache = nlohmann::json::parse(read_file(cache_path), nullptr, /*allow_exceptions=*/false);
    if (!cache.is_object()) cache = nlohmann::json::object();  // damaged: recomputed below
  }
  bool changed = false;
  nlohmann::json out = nlohmann::json::object();
  for (const std::string& file : files) {
    const fs::path p = fs::absolute(file);
    const uint64_t bytes = fs::file_size(p);
    const int64_t mtime = mtime_ns(p);
    const nlohmann::json& hit = cache.contains(p.string()) ? cache[p.string()] : nlohmann::json();
    std::string md5;
    if (hit.is_object() && hit.value("bytes", uint64_t{0}) == bytes && hit.value("mtime_ns", int64_t{0}) == mtime &&
        hit.value("md5", std::string()).size() == 32) {
      md5 = hit["md5"];
    } else {
      md5 = data::md5_of_file(p.string());
      cache[p.string()] = {{"bytes", bytes}, {"mtime_ns", mtime}, {"md5", md5}};
      changed = true;
    }
    out[fs::path(file).lexically_relative(data_dir).generic_string()] = {{"bytes", bytes}, {"md5", md5}};
  }
  if (changed) write_file_atomically(cache_path, cache.dump(2));
  return out;
}

std::vector<std::string> list_data_files(const std::string& dir, const std::vector<std::string>& prefixes) {
  std::vector<std::string> out;
  const auto scan = [&](const fs::path& folder) {
    for (const auto& e : fs::directory_iterator(folder)) {
      const std::string name = e.path().filename().string();
      if (!e.is_regular_file()) continue;
      for (const std::string& prefix : prefixes)
        if (name.rfind(prefix, 0) == 0) {
          out.push_back(e.path().string());
          break;
        }
    }
  };
  if (!fs::is_directory(dir)) return out;
  scan(dir);
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory()) scan(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string fingerprint_id(const nlohmann::json& fingerprint) { return data::digest_bytes(fingerprint.dump()).sha256; }

std::vector<std::string> fingerprint_differences(const nlohmann::json& old_fp, const nlohmann::json& new_fp) {
  const nlohmann::json a = old_fp.flatten(), b = new_fp.flatten();
  std::vector<std::string> keys;
  for (const auto& [k, v] : a.items()) keys.push_back(k);
  for (const auto& [k, v] : b.items())
    if (!a.contains(k)) keys.push_back(k);
  std::vector<std::string> out;
  for (const std::string& k : keys) {
    const nlohmann::json va = a.contains(k) ? a[k] : nlohmann::json(), vb = b.contains(k) ? b[k] : nlohmann::json();
    if (va == vb) continue;
    std::string field = k.substr(1);  // "/preset/total_steps" -> "preset.total_steps"
    std::replace(field.begin(), field.end(), '/', '.');
    out.push_back(field + ": " + leaf_text(va) + " (in the folder) vs " + leaf_text(vb) + " (now)");
  }
  return out;
}

void claim_sweep_folder(const std::string& out_dir, const nlohmann::json& fingerprint) {
  const std::string path = out_dir + "/" + kFingerprintFile;
  const std::string ways_out = "Use a new --out for these settings, or add --restart to remove this folder's results and start over.";
  if (!fs::exists(path)) {
    MC_CHECK(!fs::exists(out_dir + "/prefix") && !fs::exists(out_dir + "/branches"), ValueError,
             out_dir << " holds a sweep without a fingerprint (" << path
                     << " is missing: made by an older version, or damaged), so its settings are unknown and its results "
                        "cannot be continued. "
                     << ways_out);
    write_file_atomically(path, fingerprint.dump(2) + "\n");
    return;
  }
  const nlohmann::json old_fp = nlohmann::json::parse(read_file(path), nullptr, /*allow_exceptions=*/false);
  MC_CHECK(old_fp.is_object(), ValueError, path << " is damaged (not a JSON object), so the folder's settings are unknown. " << ways_out);
  if (old_fp == fingerprint) return;
  const std::vector<std::string> diff = fingerprint_differences(old_fp, fingerprint);
  std::ostringstream msg;
  msg << out_dir << " holds a sweep made with other settings (" << path << "); they differ in:";
  for (const std::string& d : diff) msg << "\n  " << d;
  msg << "\n" << ways_out;
  throw ValueError(msg.str());
}

std::vector<std::string> remove_sweep_results(const std::string& out_dir) {
  std::vector<std::string> removed;
  if (!fs::exists(out_dir)) return removed;
  MC_CHECK(fs::is_directory(out_dir), ValueError, "--restart: " << out_dir << " is not a folder");
  std::vector<fs::path> doomed, foreign;
  for (const auto& e : fs::directory_iterator(out_dir)) (written_by_sweep(e.path()) ? doomed : foreign).push_back(e.path());
  const bool sweep_marker = std::any_of(doomed.begin(), doomed.end(), [](const fs::path& p) {
    const std::string name = p.filename().string();
    return name == kFingerprintFile || name == "prefix" || name == "branches";
  });
  // Files of its own beside a sweep's are left alone; a folder with no sweep in it but other
  // files (a mistyped --out such as the home folder) is not touched at all.
  MC_CHECK(sweep_marker || foreign.empty(), ValueError,
           "--restart: " << out_dir << " does not hold a sweep (no fingerprint.json, prefix/ or branches/) but holds "
                         << foreign.front().filename().string() << ": nothing removed; check --out");
  std::sort(doomed.begin(), doomed.end());
  for (const fs::path& p : doomed) {
    const std::string name = p.filename().string();
    // Locks are held now (removing one would split it); the checksum cache is about the data.
    if (name == ".sweep.lock" || name == ".prefix.lock" || name == ".data-checksums.json") continue;
    fs::remove_all(p);
    removed.push_back(p.string());
  }
  return removed;
}

}  // namespace mc
