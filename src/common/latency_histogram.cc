#include "common/latency_histogram.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace custody {

std::uint64_t LatencyHistogram::Snapshot::count() const {
  std::uint64_t n = 0;
  for (auto c : counts) n += c;
  return n;
}

void LatencyHistogram::observe(double seconds) {
  // NaN and negative durations (a clock that went backwards) count as zero.
  if (!(seconds > 0)) seconds = 0;
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(kBounds.begin(), kBounds.end(), seconds) - kBounds.begin());
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  // Nanoseconds in 64 bits hold 584 years of summed latency.
  const double nanos = std::min(seconds * 1e9, 1e18);
  sum_nanos_.fetch_add(static_cast<std::uint64_t>(std::llround(nanos)), std::memory_order_relaxed);
}

LatencyHistogram::Snapshot LatencyHistogram::snapshot() const {
  Snapshot s;
  for (std::size_t i = 0; i < counts_.size(); ++i)
    s.counts[i] = counts_[i].load(std::memory_order_relaxed);
  s.sum_seconds = static_cast<double>(sum_nanos_.load(std::memory_order_relaxed)) / 1e9;
  return s;
}

void append_histogram_header(std::string& out, std::string_view name, std::string_view help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
}

void append_histogram_series(std::string& out, std::string_view name, std::string_view labels,
                             const LatencyHistogram::Snapshot& s) {
  const std::string_view sep = labels.empty() ? "" : ",";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < LatencyHistogram::kBounds.size(); ++i) {
    cumulative += s.counts[i];
    out += fmt::format("{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep,
                       LatencyHistogram::kBounds[i], cumulative);
  }
  cumulative += s.counts.back();
  out += fmt::format("{}_bucket{{{}{}le=\"+Inf\"}} {}\n", name, labels, sep, cumulative);
  const std::string braced = labels.empty() ? "" : fmt::format("{{{}}}", labels);
  out += fmt::format("{}_sum{} {}\n", name, braced, s.sum_seconds);
  out += fmt::format("{}_count{} {}\n", name, braced, cumulative);
}

}  // namespace custody
