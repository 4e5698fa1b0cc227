#include "http/metrics.h"

#include <fmt/format.h>

namespace custody::http {

void Metrics::record(std::string_view route, std::string_view method, int status, double seconds) {
  std::lock_guard lock(mu_);
  ++counts_[{std::string(route), std::string(method), status}];
  auto it = latency_.find(route);
  if (it == latency_.end()) it = latency_.try_emplace(std::string(route)).first;
  it->second.observe(seconds);
}

void Metrics::connection_opened() {
  std::lock_guard lock(mu_);
  ++open_connections_;
}
void Metrics::connection_closed() {
  std::lock_guard lock(mu_);
  --open_connections_;
}
void Metrics::connection_refused() {
  std::lock_guard lock(mu_);
  ++refused_connections_;
}

void Metrics::add_collector(std::function<std::string()> collector) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(collector));
}

std::string Metrics::exposition() const {
  std::string out;
  std::vector<std::function<std::string()>> collectors;
  {
    std::lock_guard lock(mu_);
    out += "# HELP custody_http_requests_total HTTP requests by route, method and status.\n";
    out += "# TYPE custody_http_requests_total counter\n";
    for (const auto& [key, n] : counts_) {
      const auto& [route, method, status] = key;
      out += fmt::format(
          "custody_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{}\"}} {}\n", route,
          method, status, n);
    }
    append_histogram_header(out, "custody_http_request_duration_seconds",
                            "Time from request read to response written.");
    for (const auto& [route, h] : latency_)
      append_histogram_series(out, "custody_http_request_duration_seconds",
                              fmt::format("route=\"{}\"", route), h.snapshot());
    append_histogram_header(out, "custody_http_answer_wait_seconds",
                            "Time an answer made off its connection's io thread (after a group "
                            "commit) waited for that thread to start sending it.");
    append_histogram_series(out, "custody_http_answer_wait_seconds", "", answer_wait_.snapshot());
    out += "# TYPE custody_http_open_connections gauge\n";
    out += fmt::format("custody_http_open_connections {}\n", open_connections_);
    out += "# TYPE custody_http_refused_connections_total counter\n";
    out += fmt::format("custody_http_refused_connections_total {}\n", refused_connections_);
    collectors = collectors_;
  }
  for (const auto& c : collectors) out += c();
  return out;
}

}  // namespace custody::http
