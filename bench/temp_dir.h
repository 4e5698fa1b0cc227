// A directory for a benchmark's stores: created empty under the system's temporary directory
// ("custody-<name>-XXXXXX") and removed with everything in it when the object goes. Benchmarks
// that keep stores for the whole run use one shared instance (bench_dir()), created before and
// so destroyed after the stores that live in it.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace custody::bench {

class TempDir {
 public:
  explicit TempDir(const std::string& name) {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / ("custody-" + name + "-XXXXXX")).string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace custody::bench
