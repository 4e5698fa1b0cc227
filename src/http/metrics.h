// Request metrics in Prometheus text format: a counter per (route, method, status) and a latency
// histogram per route. Thread-safe; recording takes one short mutex-protected map update.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace custody::http {

class Metrics {
 public:
  void record(std::string_view route, std::string_view method, int status, double seconds);
  void connection_opened();
  void connection_closed();
  void connection_refused();

  // Extra text appended to the exposition (e.g. store metrics), produced at scrape time.
  void add_collector(std::function<std::string()> collector);

  std::string exposition() const;

  static constexpr std::array<double, 12> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                      0.01,   0.025,   0.05,   0.1,   0.5,    2.5};

 private:
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> buckets{};
    std::uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> counts_;
  std::map<std::string, Histogram> latency_;
  std::int64_t open_connections_ = 0;
  std::uint64_t refused_connections_ = 0;
  std::vector<std::function<std::string()>> collectors_;
};

}  // namespace custody::http
