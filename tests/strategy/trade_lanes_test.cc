// TradeLanes: one strategy's tasks in order, one at a time; different
// strategies in parallel; a blocked lane holds up no other; Drain and the
// destructor wait for queued work; a throwing task does not stop its lane.
#include "server/strategy/trade_lanes.h"

#include <atomic>
#include <stdexcept>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace xctl {
namespace {

TEST(TradeLanes, OneLaneRunsItsTasksInOrderOneAtATime) {
  TradeLanes lanes(4);
  absl::Mutex mu;
  std::vector<int> seen;
  std::atomic<int> running{0}, most{0};
  for (int i = 0; i < 200; ++i) {
    lanes.Post("s1", [&, i] {
      int now = ++running;
      most = std::max(most.load(), now);
      {
        absl::MutexLock lock(&mu);
        seen.push_back(i);
      }
      --running;
    });
  }
  lanes.Drain("s1");
  EXPECT_EQ(most.load(), 1);
  ASSERT_EQ(seen.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(seen[i], i);
  EXPECT_EQ(lanes.pending(), 0u);
}

TEST(TradeLanes, ABlockedLaneDoesNotHoldUpTheOthers) {
  TradeLanes lanes(2);
  absl::Notification release, blocked_started;
  lanes.Post("slow", [&] {
    blocked_started.Notify();
    release.WaitForNotification();
  });
  lanes.Post("slow", [] {});  // queued behind the blocked one
  ASSERT_TRUE(blocked_started.WaitForNotificationWithTimeout(absl::Seconds(10)));
  std::atomic<int> done{0};
  for (int i = 0; i < 50; ++i) {
    lanes.Post(absl::StrCat("fast", i % 5), [&] { ++done; });
  }
  for (int i = 0; i < 5; ++i) lanes.Drain(absl::StrCat("fast", i));
  EXPECT_EQ(done.load(), 50);
  EXPECT_EQ(lanes.pending(), 2u);  // the slow lane's two tasks
  release.Notify();
  lanes.Drain("slow");
  EXPECT_EQ(lanes.pending(), 0u);
}

TEST(TradeLanes, AThrowingTaskIsContainedAndItsLaneGoesOn) {
  TradeLanes lanes(1);
  std::atomic<int> after{0};
  lanes.Post("s1", [] { throw std::runtime_error("boom"); });
  lanes.Post("s1", [&] { ++after; });
  lanes.DrainAll();
  EXPECT_EQ(after.load(), 1);
}

TEST(TradeLanes, TheDestructorRunsWhatIsQueued) {
  std::atomic<int> done{0};
  {
    TradeLanes lanes(1);
    for (int i = 0; i < 20; ++i) {
      lanes.Post("s1", [&] {
        absl::SleepFor(absl::Milliseconds(1));
        ++done;
      });
    }
  }
  EXPECT_EQ(done.load(), 20);
}

}  // namespace
}  // namespace xctl
