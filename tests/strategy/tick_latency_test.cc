// TickLatency: percentiles of one window, a new window after the period, and
// nothing reported before the first window closes.
#include "server/strategy/tick_latency.h"

#include "gtest/gtest.h"

namespace xctl {
namespace {

TEST(TickLatency, ReportsPercentilesOncePerWindow) {
  TickLatency latency(absl::Seconds(10));
  const int64_t t0 = 1'000'000;
  for (int i = 1; i <= 100; ++i) latency.Record(i, t0 + i);  // 1..100 us
  EXPECT_FALSE(latency.LastWindow().has_value());
  latency.Record(5000, t0 + 10'000'001);  // 10 s after the first: closes (101 samples)
  auto f = latency.LastWindow();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->count, 101u);
  EXPECT_EQ(f->p50_us, 51);
  EXPECT_EQ(f->p99_us, 100);
  EXPECT_EQ(f->max_us, 5000);
  // The next window starts empty.
  latency.Record(7, t0 + 10'000'002);
  latency.Record(9, t0 + 20'000'002);
  f = latency.LastWindow();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->count, 2u);
  EXPECT_EQ(f->max_us, 9);
}

TEST(TickLatency, NegativeSamplesCountAsZero) {
  TickLatency latency(absl::Microseconds(1));
  latency.Record(-5, 10);
  latency.Record(-5, 20);
  ASSERT_TRUE(latency.LastWindow().has_value());
  EXPECT_EQ(latency.LastWindow()->max_us, 0);
}

}  // namespace
}  // namespace xctl
