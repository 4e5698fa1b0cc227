#include "discovery/path_resolver.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <set>

namespace custody::discovery {

namespace {

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return names;
  while (dirent* e = ::readdir(d)) {
    std::string_view n(e->d_name);
    if (n == "." || n == "..") continue;
    names.emplace_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

bool is_dir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

RootView::RootView(std::string root) : root_(std::move(root)) {
  while (!root_.empty() && root_.back() == '/') root_.pop_back();
}

std::string RootView::real(std::string_view view) const {
  return root_ + std::string(view);
}

std::string RootView::view(std::string_view real) const {
  if (!root_.empty() && real.substr(0, root_.size()) == root_) {
    std::string v(real.substr(root_.size()));
    return v.empty() ? "/" : v;
  }
  return std::string(real);
}

std::vector<std::string> find_homes(const RootView& root, bool macos, bool windows) {
  // Windows profiles that are templates or shared folders, not someone's home.
  static const std::set<std::string_view> kNotAHome = {"Public", "Default", "Default User",
                                                       "All Users"};
  std::set<std::string> homes;
  for (const auto& name : list_dir(root.real("/home"))) {
    if (is_dir(root.real("/home/" + name))) homes.insert("/home/" + name);
  }
  if (macos || windows) {
    for (const auto& name : list_dir(root.real("/Users"))) {
      if (windows && kNotAHome.count(name)) continue;
      if (is_dir(root.real("/Users/" + name))) homes.insert("/Users/" + name);
    }
  }
  if (is_dir(root.real("/root"))) homes.insert("/root");
  return {homes.begin(), homes.end()};
}

std::optional<std::string> windows_view_path(std::string_view path) {
  if (path.size() < 3 || !std::isalpha(static_cast<unsigned char>(path[0])) || path[1] != ':' ||
      (path[2] != '\\' && path[2] != '/')) {
    return std::nullopt;
  }
  std::string view(path.substr(2));
  std::replace(view.begin(), view.end(), '\\', '/');
  return view;
}

bool glob_match(std::string_view pattern, std::string_view name) {
  auto star = pattern.find('*');
  if (star == std::string_view::npos) return pattern == name;
  std::string_view prefix = pattern.substr(0, star);
  std::string_view suffix = pattern.substr(star + 1);
  return name.size() >= prefix.size() + suffix.size() && name.substr(0, prefix.size()) == prefix &&
         name.substr(name.size() - suffix.size()) == suffix;
}

std::vector<std::string> expand_location(const std::string& base, std::string_view rel,
                                         Platform platform) {
  constexpr std::string_view kEditor = "{editor}";
  if (auto pos = rel.find(kEditor); pos != std::string_view::npos) {
    std::vector<std::string> out;
    for (auto dir : editor_user_dirs(platform)) {
      std::string r = std::string(rel.substr(0, pos)) + std::string(dir) +
                      std::string(rel.substr(pos + kEditor.size()));
      for (auto& p : expand_location(base, r, platform)) out.push_back(std::move(p));
    }
    return out;
  }
  auto star = rel.find('*');
  if (star == std::string_view::npos) return {base + "/" + std::string(rel)};
  // The glob component: from the last '/' before the star to the next '/'.
  auto comp_start = rel.rfind('/', star);
  comp_start = comp_start == std::string_view::npos ? 0 : comp_start + 1;
  auto comp_end = rel.find('/', star);
  std::string dir = base;
  if (comp_start > 0) dir += "/" + std::string(rel.substr(0, comp_start - 1));
  std::string_view pattern =
      rel.substr(comp_start, comp_end == std::string_view::npos ? std::string_view::npos
                                                                : comp_end - comp_start);
  std::string_view tail =
      comp_end == std::string_view::npos ? std::string_view{} : rel.substr(comp_end);
  std::vector<std::string> out;
  for (const auto& name : list_dir(dir)) {
    if (name[0] == '.' && pattern[0] == '*') continue;  // like a shell: * skips dotfiles
    if (!glob_match(pattern, name)) continue;
    out.push_back(dir + "/" + name + std::string(tail));
  }
  return out;
}

}  // namespace custody::discovery
