#include "matcomp/datasets/data_dir.h"

#include <cstdlib>
#include <filesystem>

#include "matcomp/core/error.h"

namespace mc::data {

std::string resolve_data_dir(const std::string& flag_value) {
  std::string dir = flag_value;
  std::string source = "--data";
  if (dir.empty()) {
    const char* env = std::getenv("MATCOMP_DATA");
    if (env != nullptr) dir = env;
    source = "MATCOMP_DATA";
  }
  MC_CHECK(!dir.empty(), ValueError,
           "no data folder given: pass --data DIR or set MATCOMP_DATA=DIR (DIR holds cifar10/ and ptb/); "
           "to fetch the datasets run `matcomp-data download --to DIR`");
  MC_CHECK(!std::filesystem::exists(dir) || std::filesystem::is_directory(dir), IoError,
           "data folder " << dir << " (from " << source << ") is a file, not a folder: give the folder that holds cifar10/ and ptb/");
  MC_CHECK(std::filesystem::is_directory(dir), IoError,
           "data folder " << dir << " (from " << source << ") does not exist; create it with `matcomp-data download --to "
                          << dir << "`");
  return dir;
}

std::string cifar10_dir(const std::string& data_dir) { return (std::filesystem::path(data_dir) / "cifar10").string(); }
std::string ptb_dir(const std::string& data_dir) { return (std::filesystem::path(data_dir) / "ptb").string(); }

}  // namespace mc::data
