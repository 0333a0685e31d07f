// Where the datasets live: <data dir>/cifar10/... and <data dir>/ptb/...
#pragma once

#include <string>

namespace mc::data {

// The flag's value when given, else $MATCOMP_DATA; ValueError telling the user to set one of
// them or to run `matcomp-data download` when neither is, IoError when the folder is missing.
std::string resolve_data_dir(const std::string& flag_value);

std::string cifar10_dir(const std::string& data_dir);  // <data dir>/cifar10
std::string ptb_dir(const std::string& data_dir);      // <data dir>/ptb

}  // namespace mc::data
