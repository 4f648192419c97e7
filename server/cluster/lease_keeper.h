// LeaseKeeper: keeps a set of named leases (LeaseTable) for one instance. A
// background thread, every ttl/3, renews what it holds (one statement for
// all), tries to take each wanted lease it does not hold, and releases
// leases no longer wanted; it reports gained and lost leases through
// callbacks. The price leader is the wanted lease "price-leader"; strategies
// are "strategy:<id>" (subjects.h builds the names).
//
// Lost means "stop acting under this epoch now": the database says the
// tenure ended, or the keeper could not renew it before its local deadline
// (the time the renewal was sent + ttl - safety_margin, by the monotonic
// reading of its Clock, so a database that is unreachable makes the holder
// step down before anyone else can take over). Every wait and deadline is on
// that Clock: tests move a FakeClock (with a LeaseTable on the same clock)
// instead of sleeping. Which names an instance should want
// (balancing strategies across instances) is the caller's policy.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/cluster/lease.h"
#include "server/common/clock.h"

namespace xctl::cluster {

// Why a lease was lost.
enum class LeaseLossReason {
  kNotRenewed,      // the database refused the renewal: expired or taken over
  kDeadlinePassed,  // no successful renewal before the local deadline
  kReleased,        // released because it is no longer wanted
  kStopped,         // the keeper stopped (released, or left to expire)
};

// "not_renewed", "deadline_passed", "released", "stopped".
absl::string_view LeaseLossReasonName(LeaseLossReason reason);

struct LeaseKeeperOptions {
  // This instance's holder id; unique per process run (for example
  // "<host>-<pid>-<random>"), so a restarted process never inherits the
  // tenures of its previous run.
  std::string holder;
  absl::Duration ttl = absl::Seconds(15);
  // Time between cycles; zero means ttl / 3.
  absl::Duration interval = absl::ZeroDuration();
  // Subtracted from ttl for the local deadline; zero means ttl / 10.
  absl::Duration safety_margin = absl::ZeroDuration();
  // The local deadlines and the waits between cycles (Clock::Monotonic and
  // Clock::AwaitWithDeadline). Must outlive the keeper.
  const Clock* clock = &SystemClock();
  // Called on the keeper thread, without locks held; may call Want/Unwant,
  // must not call Stop or block for long. Exceptions are caught and logged.
  std::function<void(const Lease& lease)> on_gained;
  std::function<void(const std::string& name, int64_t epoch, LeaseLossReason reason)> on_lost;
};

// A lease the keeper holds.
struct HeldLease {
  std::string name;
  int64_t epoch = 0;
  // After this reading of the keeper's Clock::Monotonic() it is no longer
  // held unless renewed.
  absl::Time local_deadline;
};

class LeaseKeeper {
 public:
  // `table` must outlive the keeper. INVALID_ARGUMENT-worthy options (empty
  // holder, bad ttl, interval >= ttl - margin) are reported by Start.
  LeaseKeeper(LeaseTable& table, LeaseKeeperOptions options);
  // Stop(/*release=*/true).
  ~LeaseKeeper();
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  // Starts the thread (the first cycle runs at once). INVALID_ARGUMENT for
  // bad options; FAILED_PRECONDITION when already started.
  [[nodiscard]] absl::Status Start();

  // Ends the thread and reports every held lease lost (kStopped). With
  // `release` the leases are released (another instance takes over at
  // once); without, they are left to expire (what a crash looks like).
  // Idempotent; never call it from a callback.
  void Stop(bool release = true);

  // Adds / removes wanted names (the keeper acts on the next cycle, which
  // Want and Unwant bring forward). An unwanted held lease is released.
  void Want(const std::string& name);
  void Unwant(const std::string& name);
  // Replaces the whole wanted set.
  void SetWanted(const std::vector<std::string>& names);

  // One cycle now, on the calling thread (tests; or a caller without the
  // thread). Not concurrently with the thread: use it instead of Start.
  void RunOnce();

  // The epoch if `name` is held and its local deadline has not passed.
  std::optional<int64_t> HeldEpoch(const std::string& name) const;
  // How long until the local deadline of tenure (`name`, `epoch`); zero
  // when that tenure is not held (another epoch, lost, or the deadline
  // passed). What a live exchange call checks first (tenure.h).
  absl::Duration TimeLeft(const std::string& name, int64_t epoch) const;
  // Every lease held (local deadline not passed), by name.
  std::vector<HeldLease> Held() const;
  const std::string& holder() const { return options_.holder; }

 private:
  struct Event {
    bool gained;
    Lease lease;  // for gained
    std::string name;
    int64_t epoch = 0;
    LeaseLossReason reason = LeaseLossReason::kNotRenewed;
  };

  void Loop();
  // One cycle; returns the events to report (reported without locks).
  std::vector<Event> Cycle();
  void Report(std::vector<Event> events);
  // The local deadline of a renewal sent at the monotonic reading `sent`.
  absl::Time Deadline(absl::Time sent) const;

  LeaseTable& table_;
  LeaseKeeperOptions options_;
  absl::Duration interval_;
  absl::Duration margin_;

  // Serializes cycles (the thread, RunOnce, Stop's release).
  absl::Mutex cycle_mu_ ABSL_ACQUIRED_BEFORE(mu_);

  mutable absl::Mutex mu_;
  absl::flat_hash_set<std::string> wanted_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, HeldLease> held_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace xctl::cluster
