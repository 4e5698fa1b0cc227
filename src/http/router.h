// Maps (method, path) to a handler. Patterns are literal segments and "{name}" captures, e.g.
// "/api/v1/identities/{id}/activate". Matching is exact per segment (no trailing-slash drift).
// The matched pattern is the route's name in metrics and logs, so ids never explode cardinality.
// Built once at start-up, then read-only and safe to share between threads.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"

namespace custody::http {

class Router {
 public:
  void add(std::string method, std::string pattern, Handler handler);

  struct Match {
    const Handler* handler = nullptr;  // null: no route for this method (see allowed)
    std::string_view pattern;          // the route's name; empty when no path matched
    std::string allowed;               // when the path matched other methods: "GET, POST"
  };
  // Fills `params` with the captures of the matched pattern.
  Match match(std::string_view method, std::string_view path,
              std::vector<std::pair<std::string, std::string>>* params) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace custody::http
