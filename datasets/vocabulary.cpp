#include "matcomp/datasets/vocabulary.h"

#include <algorithm>

#include "matcomp/core/error.h"

namespace mc::data {

Vocabulary Vocabulary::from_counts(const std::unordered_map<std::string, int64_t>& counts) {
  std::vector<std::pair<std::string, int64_t>> sorted(counts.begin(), counts.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  Vocabulary v;
  v.words_.reserve(sorted.size());
  for (auto& [w, c] : sorted) {
    v.ids_.emplace(w, static_cast<int32_t>(v.words_.size()));
    v.words_.push_back(std::move(w));
  }
  return v;
}

int32_t Vocabulary::id(std::string_view word) const {
  auto it = ids_.find(word);
  return it == ids_.end() ? -1 : it->second;
}

const std::string& Vocabulary::word(int32_t id) const {
  MC_CHECK(id >= 0 && id < size(), ValueError, "word id " << id << " out of range 0.." << size() - 1);
  return words_[static_cast<size_t>(id)];
}

}  // namespace mc::data
