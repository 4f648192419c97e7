// TickLatency: how long price-driven strategies wait for their ticks, from
// the price module publishing a tick (Tick::published_steady_us) to the
// strategy's OnTick starting. The strategy manager records one sample per
// tick per strategy; every `window` it logs one line
//   event=strategy_tick_latency count=N p50_us=.. p99_us=.. max_us=..
// and starts a new window. Thread-safe; recording is O(1) amortized.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace xctl {

class TickLatency {
 public:
  struct Figures {
    uint64_t count = 0;
    int64_t p50_us = 0;
    int64_t p99_us = 0;
    int64_t max_us = 0;
  };

  explicit TickLatency(absl::Duration window = absl::Seconds(5)) : window_(window) {}

  // One sample at steady time `now_us`; closes the window when it is over.
  void Record(int64_t latency_us, int64_t now_us);
  // The last closed window, if any.
  std::optional<Figures> LastWindow() const;

 private:
  static Figures Summarize(std::vector<int64_t>& samples);

  const absl::Duration window_;
  mutable absl::Mutex mu_;
  std::vector<int64_t> samples_ ABSL_GUARDED_BY(mu_);
  int64_t window_start_us_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<Figures> last_ ABSL_GUARDED_BY(mu_);
};

}  // namespace xctl
