// A latency histogram for /metrics (Prometheus text exposition format): fixed bucket bounds from
// 100 us to 2.5 s, observed from any thread without a lock.
//
// Contract: observe() costs a few relaxed atomic adds (its bucket, the sum) and never blocks.
// snapshot() reads the buckets one by one and then the sum, so a snapshot taken while others
// observe is not one instant: the counts (and the +Inf bucket, which is their total) are
// consistent with each other, but the sum may include or miss the few observations made during
// the snapshot. Prometheus tolerates that; nothing else reads a histogram.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace custody {

class LatencyHistogram {
 public:
  // Upper bounds (seconds) of the buckets; one more bucket counts what exceeds the last.
  static constexpr std::array<double, 12> kBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                     0.01,   0.025,   0.05,   0.1,   0.5,    2.5};

  struct Snapshot {
    // Per bucket, not cumulative: counts[i] observations in (kBounds[i-1], kBounds[i]], the last
    // one above kBounds.back().
    std::array<std::uint64_t, kBounds.size() + 1> counts{};
    double sum_seconds = 0;
    std::uint64_t count() const;
  };

  void observe(double seconds);
  void observe_since(std::chrono::steady_clock::time_point start) {
    observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  Snapshot snapshot() const;

 private:
  std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> counts_{};
  std::atomic<std::uint64_t> sum_nanos_{0};
};

// Appends the "# HELP" and "# TYPE ... histogram" lines of the histogram `name`.
void append_histogram_header(std::string& out, std::string_view name, std::string_view help);
// Appends one series of `name`: cumulative `_bucket` lines (le="..." after `labels`, which is
// empty or a list such as `route="/x"`), then `_sum` and `_count`.
void append_histogram_series(std::string& out, std::string_view name, std::string_view labels,
                             const LatencyHistogram::Snapshot& s);

}  // namespace custody
