// ListenerWatchdog (server/api/listener_watchdog.h): when it rebuilds the
// listener, when it waits, and when it gives up; probes scripted, time from
// a FakeClock, CheckOnce called directly (no thread, no sleeping).
#include "server/api/listener_watchdog.h"

#include <deque>
#include <vector>

#include "gtest/gtest.h"

namespace xctl::api {
namespace {

using Outcome = ListenerWatchdog::Outcome;

struct Script {
  std::deque<bool> probes;  // results of the next probes; empty: false
  bool fds = true;
  bool stuck = true;  // connections wait in the accept queue
  absl::Status recover_result = absl::OkStatus();
  int recovers = 0;
  int give_ups = 0;
  FakeClock clock;

  ListenerWatchdog Make(int failures) {
    return ListenerWatchdog(
        {.interval = absl::Seconds(1), .failures = failures},
        {.probe =
             [this] {
               if (probes.empty()) return false;
               bool ok = probes.front();
               probes.pop_front();
               clock.Advance(absl::Seconds(1));
               return ok;
             },
         .accept_stuck = [this] { return stuck; },
         .fds_available = [this] { return fds; },
         .recover =
             [this] {
               ++recovers;
               return recover_result;
             },
         .give_up = [this](const absl::Status&) { ++give_ups; },
         .clock = &clock});
  }
};

// Runs one check per expected outcome.
void ExpectOutcomes(ListenerWatchdog& w, std::vector<Outcome> expected) {
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(w.CheckOnce(), expected[i]) << "check " << i;
  }
}

TEST(ListenerWatchdog, RebuildsAfterTheConfiguredFailuresInARow) {
  Script s;
  s.probes = {true, false, false, true, false, false, false};
  ListenerWatchdog w = s.Make(3);
  EXPECT_EQ(w.CheckOnce(), Outcome::kHealthy);
  EXPECT_EQ(w.CheckOnce(), Outcome::kFailing);
  EXPECT_EQ(w.CheckOnce(), Outcome::kFailing);
  EXPECT_EQ(w.CheckOnce(), Outcome::kHealthy);  // an answer resets the count
  EXPECT_EQ(w.CheckOnce(), Outcome::kFailing);
  EXPECT_EQ(w.CheckOnce(), Outcome::kFailing);
  EXPECT_EQ(s.recovers, 0);
  EXPECT_EQ(w.CheckOnce(), Outcome::kRecovered);
  EXPECT_EQ(s.recovers, 1);
  EXPECT_EQ(w.recoveries(), 1);
  // Counting starts again after a rebuild.
  s.probes = {false};
  EXPECT_EQ(w.CheckOnce(), Outcome::kFailing);
}

TEST(ListenerWatchdog, WaitsWhileTheFloodStillHoldsTheDescriptors) {
  Script s;
  s.probes = {true, false, false, false, false};
  s.fds = false;
  ListenerWatchdog w = s.Make(2);
  ExpectOutcomes(w, {Outcome::kHealthy, Outcome::kFailing, Outcome::kWaitingForFds,
                     Outcome::kWaitingForFds});
  EXPECT_EQ(s.recovers, 0);
  s.fds = true;
  EXPECT_EQ(w.CheckOnce(), Outcome::kRecovered);
}

// Slow answers, but the kernel's accept queue is drained: not a deaf listener.
TEST(ListenerWatchdog, LeavesABusyServerAloneWhileItsListenerAccepts) {
  Script s;
  s.probes = {true, false, false, false, false};
  s.stuck = false;
  ListenerWatchdog w = s.Make(2);
  ExpectOutcomes(w, {Outcome::kHealthy, Outcome::kFailing, Outcome::kBusy, Outcome::kBusy});
  EXPECT_EQ(s.recovers, 0);
  s.stuck = true;
  EXPECT_EQ(w.CheckOnce(), Outcome::kRecovered);
}

TEST(ListenerWatchdog, NeverActsBeforeAProbeHasSucceeded) {
  Script s;
  s.probes = {false, false, false, false};
  ListenerWatchdog w = s.Make(2);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(w.CheckOnce(), Outcome::kNotArmed);
  EXPECT_EQ(s.recovers, 0);
}

TEST(ListenerWatchdog, GivesUpOnceWhenTheRebuildFails) {
  Script s;
  s.probes = {true, false, false};
  s.recover_result = absl::UnavailableError("cannot listen on 127.0.0.1:1");
  ListenerWatchdog w = s.Make(2);
  EXPECT_EQ(w.CheckOnce(), Outcome::kHealthy);
  EXPECT_EQ(w.CheckOnce(), Outcome::kFailing);
  EXPECT_EQ(w.CheckOnce(), Outcome::kGaveUp);
  EXPECT_EQ(s.give_ups, 1);
  EXPECT_EQ(w.CheckOnce(), Outcome::kGaveUp);  // no more probes, no second give-up
  EXPECT_EQ(s.give_ups, 1);
  EXPECT_EQ(s.recovers, 1);
}

}  // namespace
}  // namespace xctl::api
