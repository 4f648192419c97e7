// Clock: the real clock's monotonic reading, and FakeClock's waits and
// sleeper counts (what the tests of every module that waits rely on).
#include "server/common/clock.h"

#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace xctl {
namespace {

TEST(ClockTest, SystemClock_MonotonicNeverGoesBack) {
  const Clock& clock = SystemClock();
  absl::Time previous = clock.Monotonic();
  for (int i = 0; i < 10'000; ++i) {
    const absl::Time now = clock.Monotonic();
    ASSERT_GE(now, previous) << "reading " << i;
    previous = now;
  }
}

TEST(ClockTest, FakeClock_MonotonicIsItsOwnTime) {
  FakeClock clock;
  const absl::Time start = clock.Monotonic();
  EXPECT_EQ(start, clock.Now());
  clock.Advance(absl::Milliseconds(250));
  EXPECT_EQ(clock.Monotonic() - start, absl::Milliseconds(250));
}

TEST(ClockTest, FakeClock_AwaitSleepersCountsThreadsWaitingForALaterTime) {
  FakeClock clock;
  absl::Mutex mu;
  bool never = false;
  std::vector<std::thread> sleepers;
  for (int i = 1; i <= 2; ++i) {
    sleepers.emplace_back([&, i] {
      absl::MutexLock lock(&mu);
      clock.AwaitWithDeadline(mu, absl::Condition(&never), clock.Now() + absl::Seconds(i));
    });
  }
  ASSERT_TRUE(clock.AwaitSleepers(2));
  EXPECT_FALSE(clock.AwaitSleepers(3, absl::Milliseconds(20)));
  // One second later the first has woken: one is left waiting.
  clock.Advance(absl::Seconds(1));
  sleepers[0].join();
  EXPECT_TRUE(clock.AwaitSleepers(1));
  EXPECT_FALSE(clock.AwaitSleepers(2, absl::Milliseconds(20)));
  clock.Advance(absl::Seconds(1));
  sleepers[1].join();
  EXPECT_FALSE(clock.AwaitSleeper(absl::Milliseconds(20)));
}

}  // namespace
}  // namespace xctl
