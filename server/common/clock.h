// Clock: the source of "now" for every module, and the way a module waits
// for a time to come, so tests can use FakeClock and move time themselves
// instead of sleeping.
#pragma once

#include <cstdint>
#include <iterator>
#include <set>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace xctl {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
  // UTC milliseconds since the Unix epoch, the unit of the API and database.
  int64_t NowMillis() const { return absl::ToUnixMillis(Now()); }

  // A reading that never goes back, for elapsed time and local deadlines
  // (a lease's "step down by then"): a wall clock stepped by NTP must not
  // stretch them. Not a date: compare it only with other readings of the
  // same clock. SystemClock reads std::chrono::steady_clock; a FakeClock
  // (which moves only when told to) its own time. To wait for a monotonic
  // deadline `d`, wait until `Now() + (d - Monotonic())`.
  virtual absl::Time Monotonic() const { return Now(); }

  // With `mu` held, waits until `cond` holds or this clock reaches
  // `deadline` (absl::Mutex::AwaitWithDeadline in this clock's time); true
  // when `cond` holds. `mu` is released while waiting, as there.
  virtual bool AwaitWithDeadline(absl::Mutex& mu, const absl::Condition& cond,
                                 absl::Time deadline) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return mu.AwaitWithTimeout(cond, deadline - Now());
  }
};

// The real wall clock. Shared, stateless.
Clock& SystemClock();

// A clock that moves only when told to. Thread-safe.
class FakeClock : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixMillis(1'700'000'000'000))
      : now_(start) {}
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }
  void Set(absl::Time t) {
    absl::MutexLock lock(&mu_);
    now_ = t;
  }
  // Returns as soon as `cond` holds or Advance/Set has moved this clock to
  // `deadline`, whatever the wall clock says (checked every millisecond of
  // real time: a waiter sees a move within about 1 ms).
  bool AwaitWithDeadline(absl::Mutex& mu, const absl::Condition& cond,
                         absl::Time deadline) const override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    {
      absl::MutexLock lock(&mu_);
      deadlines_.insert(deadline);
    }
    bool held = false;
    while (!held && Now() < deadline) held = mu.AwaitWithTimeout(cond, absl::Milliseconds(1));
    absl::MutexLock lock(&mu_);
    deadlines_.erase(deadlines_.find(deadline));
    return held || cond.Eval();
  }
  // Waits, up to `timeout` of real time, until a thread waits in
  // AwaitWithDeadline for a time still to come: what a test calls before it
  // moves the clock, so the module under test has done all it does at the
  // current time. False on timeout.
  bool AwaitSleeper(absl::Duration timeout = absl::Seconds(10)) const {
    return AwaitSleepers(1, timeout);
  }
  // The same for `n` threads (several modules, or several instances of one,
  // on this clock): true once at least `n` wait for a time still to come.
  bool AwaitSleepers(int n, absl::Duration timeout = absl::Seconds(10)) const {
    absl::MutexLock lock(&mu_);
    auto sleeping = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return std::distance(deadlines_.upper_bound(now_), deadlines_.end()) >= n;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&sleeping), timeout);
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
  // The deadlines of the threads in AwaitWithDeadline.
  mutable std::multiset<absl::Time> deadlines_ ABSL_GUARDED_BY(mu_);
};

}  // namespace xctl
