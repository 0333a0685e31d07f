// matcomp-data: fetch the datasets from their official sources, or check the files present.
//
//   matcomp-data download --to DIR [--only cifar10,ptb]
//   matcomp-data verify --data DIR
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "tools/cli/cli_conventions.h"
#include "matcomp/core/error.h"
#include "matcomp/datasets/data_dir.h"
#include "matcomp/datasets/fetch.h"
#include "matcomp/datasets/verify.h"

namespace {

std::vector<std::string> parse_only(const std::string& only) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= only.size()) {
    const size_t comma = std::min(only.find(',', pos), only.size());
    const std::string item = only.substr(pos, comma - pos);
    if (!item.empty()) {
      MC_CHECK(item == "cifar10" || item == "ptb", mc::ValueError, "--only: unknown dataset '" << item << "' (cifar10, ptb)");
      out.push_back(item);
    }
    pos = comma + 1;
  }
  MC_CHECK(!out.empty(), mc::ValueError, "--only: no dataset named (cifar10, ptb)");
  return out;
}

bool wants(const std::vector<std::string>& only, const std::string& name) {
  return std::find(only.begin(), only.end(), name) != only.end();
}

int run_verify(const std::string& dir, const std::vector<std::string>& only) {
  int bad = 0;
  for (const mc::data::FileCheck& c : mc::data::verify_data_dir(dir, only)) {
    std::printf("%-10s %-8s %-18s %s%s%s\n", mc::data::to_string(c.status), c.dataset.c_str(), c.name.c_str(),
                c.path.c_str(), c.detail.empty() ? "" : "  ", c.detail.c_str());
    if (c.status != mc::data::FileCheck::Status::Ok) ++bad;
  }
  if (bad > 0) std::printf("%d file(s) missing or wrong; `matcomp-data download --to %s` fetches them\n", bad, dir.c_str());
  else std::printf("all files present and matching the published checksums\n");
  return bad > 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"matcomp-data: download and verify the CIFAR-10 and Penn Treebank datasets"};
  mc::cli::setup(app, "matcomp-data");
  app.require_subcommand(1);
  std::string to, data, only = "cifar10,ptb", verify_only = "cifar10,ptb";
  mc::data::FetchOptions opt;

  CLI::App* download = app.add_subcommand("download", "fetch the official files into DIR/cifar10 and DIR/ptb");
  download->add_option("--to", to, "data folder (default: $MATCOMP_DATA)");
  download->add_option("--only", only, "comma-separated datasets: cifar10, ptb")->capture_default_str();
  download->add_option("--cifar10-url", opt.cifar10_url, "CIFAR-10 binary archive URL")->capture_default_str();
  download->add_option("--cifar10-md5", opt.cifar10_md5, "expected MD5 of that archive")->capture_default_str();
  download->add_option("--ptb-base-url", opt.ptb_base_url, "folder URL holding ptb.{train,valid,test}.txt")->capture_default_str();
  download->add_flag("--keep-archive", opt.keep_archive, "keep cifar-10-binary.tar.gz after extracting it");

  CLI::App* verify = app.add_subcommand("verify", "check the files present against the published checksums");
  verify->add_option("--data", data, "data folder (default: $MATCOMP_DATA)");
  verify->add_option("--only", verify_only, "comma-separated datasets: cifar10, ptb")->capture_default_str();

  if (const int rc = mc::cli::parse(app, argc, argv); rc >= 0) return rc;
  std::vector<std::string> which;
  try {  // flag values first: a bad --only is a usage error, before anything is fetched
    which = parse_only(*download ? only : verify_only);
  } catch (const mc::Error& e) {
    return mc::cli::usage_error("matcomp-data", e.what());
  }
  try {
    if (*download) {
      if (to.empty()) to = mc::data::resolve_data_dir("");
      if (wants(which, "cifar10")) mc::data::fetch_cifar10(to, opt);
      if (wants(which, "ptb")) mc::data::fetch_ptb(to, opt);
      std::fprintf(stderr, "done; use it with --data %s or MATCOMP_DATA=%s\n", to.c_str(), to.c_str());
      return 0;
    }
    return run_verify(mc::data::resolve_data_dir(data), which);
  } catch (const mc::Error& e) {
    std::fprintf(stderr, "matcomp-data: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {  // std::filesystem errors (permissions, disk full)
    std::fprintf(stderr, "matcomp-data: error: %s\n", e.what());
    return 1;
  }
}
