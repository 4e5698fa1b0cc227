#include "http/router.h"

namespace custody::http {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty() || path[0] != '/') return out;
  path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path = path.substr(slash + 1);
  }
  return out;
}

}  // namespace

void Router::add(std::string method, std::string pattern, Handler handler) {
  Route r{std::move(method), std::move(pattern), {}, std::move(handler)};
  for (auto seg : split_path(r.pattern)) r.segments.emplace_back(seg);
  routes_.push_back(std::move(r));
}

Router::Match Router::match(std::string_view method, std::string_view path,
                            std::vector<std::pair<std::string, std::string>>* params) const {
  Match result;
  auto segs = split_path(path);
  for (const auto& r : routes_) {
    if (r.segments.size() != segs.size()) continue;
    bool ok = true;
    std::vector<std::pair<std::string, std::string>> captured;
    for (size_t i = 0; i < segs.size() && ok; ++i) {
      const std::string& p = r.segments[i];
      if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
        if (segs[i].empty())
          ok = false;
        else
          captured.emplace_back(p.substr(1, p.size() - 2), std::string(segs[i]));
      } else if (p != segs[i]) {
        ok = false;
      }
    }
    if (!ok) continue;
    if (r.method == method) {
      result.handler = &r.handler;
      result.pattern = r.pattern;
      result.allowed.clear();
      *params = std::move(captured);
      return result;
    }
    result.pattern = r.pattern;
    if (result.allowed.find(r.method) == std::string::npos)
      result.allowed += (result.allowed.empty() ? "" : ", ") + r.method;
  }
  return result;
}

}  // namespace custody::http
