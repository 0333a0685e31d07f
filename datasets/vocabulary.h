// Vocabulary: word <-> id. Ids are assigned by descending count, ties broken by ascending
// byte order of the word, so the same training text always gives the same ids (in PTB, id 0
// is "the" and "<eos>" and "<unk>" follow close behind).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mc::data {

class Vocabulary {
 public:
  Vocabulary() = default;
  // counts: word -> occurrences.
  static Vocabulary from_counts(const std::unordered_map<std::string, int64_t>& counts);

  int32_t id(std::string_view word) const;  // -1 when absent
  const std::string& word(int32_t id) const;
  int64_t size() const { return static_cast<int64_t>(words_.size()); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::vector<std::string> words_;
  std::unordered_map<std::string, int32_t, Hash, std::equal_to<>> ids_;
};

}  // namespace mc::data
