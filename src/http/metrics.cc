#include "http/metrics.h"

#include <fmt/format.h>

namespace custody::http {

void Metrics::record(std::string_view route, std::string_view method, int status, double seconds) {
  std::lock_guard lock(mu_);
  ++counts_[{std::string(route), std::string(method), status}];
  auto it = latency_.find(std::string(route));
  if (it == latency_.end()) it = latency_.emplace(std::string(route), Histogram{}).first;
  Histogram& h = it->second;
  for (size_t i = 0; i < kBuckets.size(); ++i)
    if (seconds <= kBuckets[i]) ++h.buckets[i];
  ++h.count;
  h.sum += seconds;
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
    out +=
        "# HELP custody_http_request_duration_seconds Time from request read to response "
        "written.\n";
    out += "# TYPE custody_http_request_duration_seconds histogram\n";
    for (const auto& [route, h] : latency_) {
      for (size_t i = 0; i < kBuckets.size(); ++i)
        out += fmt::format(
            "custody_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n", route,
            kBuckets[i], h.buckets[i]);
      out += fmt::format(
          "custody_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n", route,
          h.count);
      out += fmt::format("custody_http_request_duration_seconds_sum{{route=\"{}\"}} {}\n", route,
                         h.sum);
      out += fmt::format("custody_http_request_duration_seconds_count{{route=\"{}\"}} {}\n", route,
                         h.count);
    }
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
