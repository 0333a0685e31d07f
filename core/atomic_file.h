// Atomic file writes: data goes to a temporary file beside the target, is flushed to disk,
// then renamed over the target. A crash leaves either the old file or the new one, never half.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>

namespace mc {

void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& writer);
void write_file_atomically(const std::string& path, std::string_view bytes);

// Whole file into memory; IoError naming the file when it cannot be read.
std::string read_file(const std::string& path);

}  // namespace mc
