// Where the catalogue's paths are on a scanned machine. The scanner reads a tree "as if it were
// /" (`--root`), so every path exists twice: the view path reported
// ("/home/alice/.cursor/mcp.json") and the real path opened (root + view). RootView converts; the
// rest resolves homes, globs and the host-editor user dirs of Cline and Roo.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "discovery/catalogue.h"
#include "discovery/finding.h"

namespace custody::discovery {

class RootView {
 public:
  // `root` "/" (a real scan) or a directory; a trailing slash is ignored.
  explicit RootView(std::string root);
  const std::string& root() const { return root_; }
  // The real path of view path `view` (which starts with '/').
  std::string real(std::string_view view) const;
  // The view path of real path `real` (which lies under the root).
  std::string view(std::string_view real) const;

 private:
  std::string root_;  // "" for "/", else the root without a trailing slash
};

// Home directories, as view paths: every directory under /home, /root when it exists, with
// `macos` every directory under /Users, and with `windows` every directory under /Users except
// the profiles that belong to no user (Public, Default, Default User, All Users). Sorted, each
// once.
std::vector<std::string> find_homes(const RootView& root, bool macos, bool windows = false);

// The view path of a Windows absolute path on the system drive: both C:\Users\a\src and
// C:/Users/a/src are /Users/a/src (the root is the drive; its letter is not checked). nullopt
// for anything that is not a drive-absolute path.
std::optional<std::string> windows_view_path(std::string_view path);

// The real paths `rel` (a catalogue path) names under the real directory `base`: "{editor}" is
// replaced by each host editor's user dir, and one component may be a glob ("*.json", "*",
// "*.config.toml") matched against the directory's entries (sorted). Non-glob results are
// returned whether or not they exist; reading decides.
std::vector<std::string> expand_location(const std::string& base, std::string_view rel,
                                         Platform platform);

// True when `name` matches `pattern`, which has at most one '*'.
bool glob_match(std::string_view pattern, std::string_view name);

}  // namespace custody::discovery
