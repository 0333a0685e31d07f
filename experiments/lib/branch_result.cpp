#include "experiments/lib/branch_result.h"

#include <cmath>
#include <sstream>

#include "matcomp/core/atomic_file.h"
#include "matcomp/core/error.h"

namespace mc {

const std::vector<std::string>& result_fields() {
  static const std::vector<std::string> fields{"method",          "ratio",       "steps",      "final_loss",
                                               "infer_ms",        "disk_bytes",  "dense_bytes", "dense_model_bytes",
                                               "stored_bytes",    "achieved_ratio", "train_seconds", "fingerprint"};
  return fields;
}

std::string result_problem(const nlohmann::json& r, const std::string& metric, const std::string& method, double ratio,
                           const std::string& fingerprint) {
  if (!r.is_object()) return "not a JSON object";
  std::vector<std::string> fields = result_fields();
  fields.push_back(metric);
  for (const std::string& f : fields) {
    if (!r.contains(f)) return "field '" + f + "' is missing";
    const nlohmann::json& v = r[f];
    const bool text = f == "method" || f == "fingerprint";
    if (text ? !v.is_string() : !v.is_number()) return "field '" + f + "' is " + v.dump() + ", not a " + (text ? "string" : "number");
    if (!text && !std::isfinite(v.get<double>())) return "field '" + f + "' is not finite";
  }
  if (r["method"] != method || r["ratio"].get<double>() != ratio) {
    std::ostringstream o;
    o << "it is the result of " << r["method"].get<std::string>() << " at ratio " << r["ratio"].get<double>()
      << ", not of this branch";
    return o.str();
  }
  if (!fingerprint.empty() && r["fingerprint"] != fingerprint)
    return "it was made by another sweep (fingerprint " + r["fingerprint"].get<std::string>().substr(0, 16) + ", this sweep's " +
           fingerprint.substr(0, 16) + ")";
  return "";
}

nlohmann::json read_result_file(const std::string& path) {
  const std::string text = read_file(path);
  nlohmann::json r = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  MC_CHECK(!r.is_discarded(), IoError, path << " is damaged: not valid JSON (" << text.size() << " bytes)");
  return r;
}

}  // namespace mc
