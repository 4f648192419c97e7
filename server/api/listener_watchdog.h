// ListenerWatchdog: notices that xctld's gRPC listener no longer accepts
// connections and has it rebuilt (docs/security.md, "Connection floods").
//
// Why: gRPC 1.51's listener stops for good once accept4 fails with EMFILE
// (grpc/grpc#16058). Connections open before keep working, but every new one
// waits in the kernel's backlog unanswered, so after a flood of idle sockets
// nobody can reach the strategies that keep trading. A health call over a
// fresh connection to xctld's own port tells the two apart.
//
// What it does: every `interval` it runs `probe`; after `failures` failures
// in a row it calls `recover`, but only when `accept_stuck` says connections
// wait unaccepted in the kernel's accept queue (a deaf listener, not a busy
// server: listen_queue.h) and `fds_available` says the flood has let go of
// the descriptors (a rebuild during the flood would fail the same way). It acts only once a probe has succeeded (armed), so a probe that
// cannot work in this setup never rebuilds a healthy server. When `recover`
// fails it calls `give_up` (xctld then stops cleanly and exits 3 for its
// supervisor to restart it) and checks no more.
//
// Time: CheckOnce takes no time of its own; it reads the Clock to log how
// long the listener was stalled. Tests call CheckOnce with a FakeClock.
#pragma once

#include <functional>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "server/common/clock.h"

namespace xctl::api {

class ListenerWatchdog {
 public:
  struct Options {
    absl::Duration interval = absl::Seconds(5);
    int failures = 3;  // failed probes in a row before recovering
  };
  struct Deps {
    std::function<bool()> probe;           // true: the listener answered
    std::function<bool()> accept_stuck;    // true: connections wait unaccepted
    std::function<bool()> fds_available;   // true: descriptors are free again
    std::function<absl::Status()> recover;  // rebuilds the listener
    std::function<void(const absl::Status&)> give_up;  // recover failed
    const Clock* clock = nullptr;
  };

  // What one check found and did.
  enum class Outcome {
    kHealthy,         // the probe succeeded
    kNotArmed,        // the probe failed, but none ever succeeded
    kFailing,         // failed, fewer than `failures` in a row
    kBusy,            // enough failures, but the listener accepts: slow, not deaf
    kWaitingForFds,   // enough failures, but descriptors are still exhausted
    kRecovered,       // `recover` succeeded
    kGaveUp,          // `recover` failed; no more checks
  };

  ListenerWatchdog(Options options, Deps deps);
  ~ListenerWatchdog();  // Stop()

  // One check. Not thread-safe against itself: the thread or a test calls it.
  Outcome CheckOnce();

  // Runs CheckOnce every interval on a thread of its own until Stop.
  void Start();
  // Stops and joins the thread (waits for a running recover). Idempotent.
  void Stop();

  int recoveries() const { return recoveries_; }

 private:
  const Options options_;
  const Deps deps_;
  bool armed_ = false;
  bool gave_up_ = false;
  int failed_in_a_row_ = 0;
  absl::Time failing_since_ = absl::InfinitePast();
  int recoveries_ = 0;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace xctl::api
