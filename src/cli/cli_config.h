// Where the CLI finds its server URL and admin token. Each is resolved on its own, first match
// wins: the --server/--token flag, then CUSTODY_SERVER/CUSTODY_TOKEN, then the config file
// ($XDG_CONFIG_HOME/custody/config, else ~/.config/custody/config), then the default server
// http://127.0.0.1:8080 and no token. Empty values count as unset.
//
// The config file holds `key = value` lines; keys are `server` and `token`. Blank lines and lines
// whose first non-blank character is `#` are ignored; a value may be wrapped in "" or ''. An
// unknown key or a line without `=` is an error naming the file and line, so a typo never
// silently falls back to a default.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace custody::cli {

using EnvMap = std::map<std::string, std::string>;

inline constexpr std::string_view kDefaultServer = "http://127.0.0.1:8080";

struct ConfigFile {
  std::string server;  // "" when the file does not set it
  std::string token;
};

struct Settings {
  std::string server;
  std::string token;                  // "" when none was found anywhere
  std::string config_path;            // the file consulted ("" when no home directory is known)
  std::vector<std::string> warnings;  // e.g. a token file readable by others
};

// $XDG_CONFIG_HOME/custody/config when XDG_CONFIG_HOME is an absolute path, else
// $HOME/.config/custody/config, else "".
std::string config_file_path(const EnvMap& env);

// Parses config file text; `path` only appears in error messages.
Result<ConfigFile> parse_config_file(std::string_view text, std::string_view path);

// Applies the precedence rules to already-gathered sources. Pure.
Settings resolve_settings(std::string_view flag_server, std::string_view flag_token,
                          const EnvMap& env, const ConfigFile& file);

// Reads the config file when it exists (a missing file is not an error, an unreadable or malformed
// one is) and resolves. Adds a warning when the file holds a token and is readable by group or
// others.
Result<Settings> load_settings(std::string_view flag_server, std::string_view flag_token,
                               const EnvMap& env);

// The error text for a command that needs a token and has none.
std::string missing_token_message(const Settings& settings);

}  // namespace custody::cli
