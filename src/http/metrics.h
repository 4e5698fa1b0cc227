// Request metrics in Prometheus text format: a counter per (route, method, status), a latency
// histogram per route, and how long answers wait for their io thread. Thread-safe; recording a
// request takes one short mutex-protected map update, an answer's wait none.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "common/latency_histogram.h"

namespace custody::http {

class Metrics {
 public:
  void record(std::string_view route, std::string_view method, int status, double seconds);
  // An answer produced off its connection's io thread at `made` (e.g. by the store writer after
  // a group commit) is about to be sent by that thread.
  void record_answer_wait(std::chrono::steady_clock::time_point made) {
    answer_wait_.observe_since(made);
  }
  void connection_opened();
  void connection_closed();
  void connection_refused();

  // Extra text appended to the exposition (e.g. store metrics), produced at scrape time.
  void add_collector(std::function<std::string()> collector);

  std::string exposition() const;

 private:
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> counts_;
  std::map<std::string, LatencyHistogram, std::less<>> latency_;
  LatencyHistogram answer_wait_;
  std::int64_t open_connections_ = 0;
  std::uint64_t refused_connections_ = 0;
  std::vector<std::function<std::string()>> collectors_;
};

}  // namespace custody::http
