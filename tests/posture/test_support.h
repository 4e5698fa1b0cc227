// Test doubles and helpers of the posture tests: a CommandRunner that answers from canned outputs
// (the OS's programs stand-in) and counts its calls, and temporary trees built per test.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "posture/command_runner.h"

namespace custody::posture::testing {

namespace fs = std::filesystem;

inline const std::string kFixtures = POSTURE_FIXTURES_DIR;

inline std::string fixture(const std::string& name) {
  return kFixtures + "/" + name;
}

inline std::string read_fixture(const std::string& name) {
  std::ifstream in(kFixtures + "/commands/" + name, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Answers each command (argv joined by spaces) with what was set for it; a command never set is
// "not installed" (kNotFound), as on a machine without the program.
class FixtureRunner final : public CommandRunner {
 public:
  void set(const std::string& command, std::string out, int exit_status = 0) {
    answers_[command] = CommandOutput{exit_status, std::move(out)};
  }
  void fail(const std::string& command, Error error) { errors_[command] = std::move(error); }

  Result<CommandOutput> run(const std::vector<std::string>& argv,
                            const std::map<std::string, std::string>& env,
                            const CommandOptions& options) override {
    std::string command;
    for (const auto& a : argv) command += (command.empty() ? "" : " ") + a;
    ++calls[command];
    last_env[command] = env;
    last_options[command] = options;
    if (auto e = errors_.find(command); e != errors_.end()) return e->second;
    if (auto a = answers_.find(command); a != answers_.end()) return a->second;
    return Error::not_found(argv.empty() ? std::string("?") : argv[0] + ": not installed");
  }

  std::map<std::string, int> calls;
  std::map<std::string, std::map<std::string, std::string>> last_env;
  std::map<std::string, CommandOptions> last_options;

 private:
  std::map<std::string, CommandOutput> answers_;
  std::map<std::string, Error> errors_;
};

inline constexpr const char* kAptUpgrade = "apt-get -s -o Debug::NoLocking=1 dist-upgrade";
inline constexpr const char* kNft = "nft -j list ruleset";
inline constexpr const char* kIptables = "iptables-save";
inline constexpr const char* kGsettingsLock =
    "gsettings get org.gnome.desktop.screensaver lock-enabled";
inline constexpr const char* kGsettingsIdle = "gsettings get org.gnome.desktop.session idle-delay";

// A directory under the system temp dir, removed (with everything in it) at the end of the test.
class TempTree {
 public:
  TempTree() {
    std::string tmpl = (fs::temp_directory_path() / "posture-test-XXXXXX").string();
    root_ = ::mkdtemp(tmpl.data()) != nullptr ? tmpl : std::string();
  }
  ~TempTree() {
    std::error_code ec;
    // Restore permissions a test removed, so that removal works when not run as root.
    for (auto it = fs::recursive_directory_iterator(root_, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
    }
    fs::remove_all(root_, ec);
  }
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;

  const std::string& root() const { return root_; }
  std::string path(const std::string& p) const { return root_ + p; }
  void write(const std::string& p, const std::string& text) const {
    fs::create_directories(fs::path(path(p)).parent_path());
    std::ofstream(path(p), std::ios::binary) << text;
  }
  void mkdir(const std::string& p) const { fs::create_directories(path(p)); }
  void symlink(const std::string& target, const std::string& p) const {
    fs::create_directories(fs::path(path(p)).parent_path());
    fs::create_symlink(target, path(p));
  }
  // Copies a committed fixture tree in (symlinks kept as symlinks).
  void copy_fixture(const std::string& name) const {
    fs::copy(fixture(name), root_,
             fs::copy_options::recursive | fs::copy_options::copy_symlinks |
                 fs::copy_options::overwrite_existing);
  }

 private:
  std::string root_;
};

}  // namespace custody::posture::testing
