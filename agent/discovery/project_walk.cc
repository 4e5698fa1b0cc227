#include "discovery/project_walk.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace custody::discovery {

namespace {

bool skipped_dir(std::string_view name) {
  return name == ".git" || name == "node_modules" || name == ".venv" || name == "venv" ||
         name == "__pycache__" || name == ".tox" || name == ".hg" || name == ".svn";
}

// Project locations, computed once: their first path component decides whether a directory
// needs probing at all (most directories have none of .vscode, .cursor, .mcp.json, ...).
const std::vector<const ConfigLocation*>& project_locations() {
  static const std::vector<const ConfigLocation*> kLocs = [] {
    std::vector<const ConfigLocation*> v;
    for (const auto& l : config_locations()) {
      if (l.anchor == Anchor::kProject) v.push_back(&l);
    }
    return v;
  }();
  return kLocs;
}

std::string_view first_component(std::string_view p) {
  return p.substr(0, p.find('/'));
}

}  // namespace

bool ProjectWalker::out_of_budget() {
  if (stopped_) return true;
  std::string why;
  if (report_.stats.project_entries_seen > limits_.max_entries) {
    why = "entry limit (" + std::to_string(limits_.max_entries) + ") reached";
  } else if (std::chrono::steady_clock::now() - start_ > limits_.max_time) {
    why = "time limit (" + std::to_string(limits_.max_time.count()) + " ms) reached";
  }
  if (why.empty()) return false;
  stopped_ = true;
  report_.stats.project_walk_truncated = true;
  report_.warnings.push_back({"(project walk)", why + "; the walk stopped early"});
  return true;
}

void ProjectWalker::walk(const std::string& project_root, const ProjectFileVisitor& visit) {
  struct Dir {
    std::string path;
    int depth;
  };
  std::vector<Dir> stack;
  struct stat st {};
  if (::stat(project_root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    report_.warnings.push_back({root_.view(project_root), "project root is not a directory"});
    return;
  }
  stack.push_back({project_root, 0});
  std::vector<std::string> names;
  std::vector<std::string> subdirs;
  while (!stack.empty() && !out_of_budget()) {
    Dir dir = std::move(stack.back());
    stack.pop_back();
    if (::stat(dir.path.c_str(), &st) != 0) continue;
    auto key = std::make_pair(st.st_dev, st.st_ino);
    auto pos = std::lower_bound(visited_.begin(), visited_.end(), key);
    if (pos != visited_.end() && *pos == key) {
      report_.warnings.push_back(
          {root_.view(dir.path), "symlink loop or directory already walked; not walked again"});
      continue;
    }
    visited_.insert(pos, key);
    DIR* d = ::opendir(dir.path.c_str());
    if (!d) {
      report_.warnings.push_back(
          {root_.view(dir.path), std::string("cannot open directory: ") + std::strerror(errno)});
      continue;
    }
    ++report_.stats.project_dirs_walked;
    names.clear();
    subdirs.clear();
    while (dirent* e = ::readdir(d)) {
      std::string_view n(e->d_name);
      if (n == "." || n == "..") continue;
      ++report_.stats.project_entries_seen;
      names.emplace_back(n);
      unsigned char type = e->d_type;
      if (type == DT_DIR) {
        if (!skipped_dir(n)) subdirs.push_back(dir.path + "/" + std::string(n));
      } else if (type == DT_LNK || type == DT_UNKNOWN) {
        std::string p = dir.path + "/" + std::string(n);
        struct stat target {};
        if (::stat(p.c_str(), &target) != 0) {
          if (errno == ELOOP) report_.warnings.push_back({root_.view(p), "symlink loop"});
          continue;
        }
        if (S_ISDIR(target.st_mode) && !skipped_dir(n)) subdirs.push_back(std::move(p));
      }
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const ConfigLocation* loc : project_locations()) {
      if (!std::binary_search(names.begin(), names.end(), std::string(first_component(loc->path))))
        continue;
      for (const auto& file : expand_location(dir.path, loc->path, loc->platform)) {
        visit(dir.path, *loc, file);
      }
    }
    if (dir.depth >= limits_.max_depth) continue;
    // Reverse so that the walk visits subdirectories in name order.
    std::sort(subdirs.begin(), subdirs.end(), std::greater<>());
    for (auto& s : subdirs) stack.push_back({std::move(s), dir.depth + 1});
  }
}

}  // namespace custody::discovery
