#include "cli/cli_config.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

namespace custody::cli {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::string env_value(const EnvMap& env, const std::string& name) {
  auto it = env.find(name);
  return it == env.end() ? std::string() : it->second;
}

// The first non-empty candidate.
std::string first_set(std::initializer_list<std::string_view> candidates) {
  for (std::string_view c : candidates) {
    if (!c.empty()) return std::string(c);
  }
  return {};
}

}  // namespace

std::string config_file_path(const EnvMap& env) {
  std::string xdg = env_value(env, "XDG_CONFIG_HOME");
  // The XDG spec says relative values are invalid and must be ignored.
  if (!xdg.empty() && xdg.front() == '/') return xdg + "/custody/config";
  std::string home = env_value(env, "HOME");
  if (!home.empty()) return home + "/.config/custody/config";
  return {};
}

Result<ConfigFile> parse_config_file(std::string_view text, std::string_view path) {
  ConfigFile file;
  int line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') continue;

    auto where = [&] { return std::string(path) + ":" + std::to_string(line_no) + ": "; };
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return Error::invalid(where() + "expected `key = value`");
    }
    std::string_view key = trim(line.substr(0, eq));
    std::string_view value = trim(line.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    if (key == "server") {
      file.server = std::string(value);
    } else if (key == "token") {
      file.token = std::string(value);
    } else {
      return Error::invalid(where() + "unknown key \"" + std::string(key) +
                            "\" (known: server, token)");
    }
  }
  return file;
}

Settings resolve_settings(std::string_view flag_server, std::string_view flag_token,
                          const EnvMap& env, const ConfigFile& file) {
  Settings s;
  s.server =
      first_set({flag_server, env_value(env, "CUSTODY_SERVER"), file.server, kDefaultServer});
  s.token = first_set({flag_token, env_value(env, "CUSTODY_TOKEN"), file.token});
  s.config_path = config_file_path(env);
  return s;
}

Result<Settings> load_settings(std::string_view flag_server, std::string_view flag_token,
                               const EnvMap& env) {
  std::string path = config_file_path(env);
  ConfigFile file;
  std::vector<std::string> warnings;
  struct stat st {};
  if (!path.empty() && ::stat(path.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode)) return Error::invalid(path + " is not a regular file");
    std::ifstream in(path, std::ios::binary);
    if (!in.is_open()) return Error::invalid("cannot read " + path);
    std::ostringstream text;
    text << in.rdbuf();
    CUSTODY_ASSIGN(file, parse_config_file(text.str(), path));
    // Like ssh with private keys: an admin token readable by other users is worth a warning.
    if (!file.token.empty() && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
      warnings.push_back(path +
                         " holds an admin token but is accessible by other users; run "
                         "chmod 600 " +
                         path);
    }
  }
  Settings s = resolve_settings(flag_server, flag_token, env, file);
  s.warnings = std::move(warnings);
  return s;
}

std::string missing_token_message(const Settings& settings) {
  std::string msg = "no admin token: pass --token, set CUSTODY_TOKEN or add `token = cst_...` to ";
  msg += settings.config_path.empty() ? "~/.config/custody/config" : settings.config_path;
  return msg;
}

}  // namespace custody::cli
