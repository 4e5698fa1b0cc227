// LatencyHistogram: bucketing at the bounds, the Prometheus series it writes, and concurrent
// observers losing no observation.
#include "common/latency_histogram.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace custody {
namespace {

TEST(LatencyHistogram, ObservationsLandInTheFirstBucketWhoseBoundHoldsThem) {
  LatencyHistogram h;
  h.observe(0.0001);   // exactly the first bound: le="0.0001"
  h.observe(0.00011);  // just over it: le="0.00025"
  h.observe(0.003);    // le="0.005"
  h.observe(2.5);      // the last bound
  h.observe(7.0);      // above every bound: only +Inf
  h.observe(-1.0);     // a clock that went backwards counts as zero
  const auto s = h.snapshot();
  EXPECT_EQ(s.counts[0], 2u);
  EXPECT_EQ(s.counts[1], 1u);
  EXPECT_EQ(s.counts[5], 1u);
  EXPECT_EQ(s.counts[LatencyHistogram::kBounds.size() - 1], 1u);
  EXPECT_EQ(s.counts.back(), 1u);
  EXPECT_EQ(s.count(), 6u);
  EXPECT_NEAR(s.sum_seconds, 0.0001 + 0.00011 + 0.003 + 2.5 + 7.0, 1e-9);
}

TEST(LatencyHistogram, SeriesAreCumulativeAndEndWithSumAndCount) {
  LatencyHistogram h;
  h.observe(0.0002);
  h.observe(0.004);
  h.observe(0.004);
  std::string out;
  append_histogram_header(out, "x_seconds", "Help text.");
  append_histogram_series(out, "x_seconds", "route=\"/t\"", h.snapshot());
  EXPECT_NE(out.find("# HELP x_seconds Help text.\n# TYPE x_seconds histogram\n"),
            std::string::npos);
  EXPECT_NE(out.find("x_seconds_bucket{route=\"/t\",le=\"0.0001\"} 0\n"), std::string::npos);
  EXPECT_NE(out.find("x_seconds_bucket{route=\"/t\",le=\"0.00025\"} 1\n"), std::string::npos);
  EXPECT_NE(out.find("x_seconds_bucket{route=\"/t\",le=\"0.0025\"} 1\n"), std::string::npos);
  EXPECT_NE(out.find("x_seconds_bucket{route=\"/t\",le=\"0.005\"} 3\n"), std::string::npos);
  EXPECT_NE(out.find("x_seconds_bucket{route=\"/t\",le=\"2.5\"} 3\n"), std::string::npos);
  EXPECT_NE(out.find("x_seconds_bucket{route=\"/t\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(out.find("x_seconds_sum{route=\"/t\"} 0.0082\n"), std::string::npos) << out;
  EXPECT_NE(out.find("x_seconds_count{route=\"/t\"} 3\n"), std::string::npos);

  std::string bare;
  append_histogram_series(bare, "y_seconds", "", LatencyHistogram{}.snapshot());
  EXPECT_NE(bare.find("y_seconds_bucket{le=\"0.0001\"} 0\n"), std::string::npos) << bare;
  EXPECT_NE(bare.find("y_seconds_bucket{le=\"+Inf\"} 0\n"), std::string::npos);
  EXPECT_NE(bare.find("y_seconds_sum 0\n"), std::string::npos);
  EXPECT_NE(bare.find("y_seconds_count 0\n"), std::string::npos);
}

TEST(LatencyHistogram, ConcurrentObserversLoseNothing) {
  LatencyHistogram h;
  constexpr int kThreads = 4, kEach = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&h, t] {
      for (int i = 0; i < kEach; ++i) h.observe(t % 2 == 0 ? 0.0003 : 0.02);
    });
  for (auto& t : threads) t.join();
  const auto s = h.snapshot();
  EXPECT_EQ(s.count(), static_cast<std::uint64_t>(kThreads) * kEach);
  EXPECT_EQ(s.counts[2], 2u * kEach);  // le="0.0005"
  EXPECT_EQ(s.counts[7], 2u * kEach);  // le="0.025"
  EXPECT_NEAR(s.sum_seconds, 2.0 * kEach * (0.0003 + 0.02), 1e-6);
}

}  // namespace
}  // namespace custody
