// TradeLanes: where price-driven strategies trade, off the price bus's
// dispatcher threads. Each strategy has a lane: its tasks run one at a time,
// in the order they were posted; lanes of different strategies run in
// parallel on a fixed pool of threads. So a strategy whose order waits on the
// database or on BloFin never delays the ticks (and decisions) of the others,
// and a strategy's own orders still happen in decision order.
//
// Thread-safe. A task that throws is caught and logged; its lane goes on.
#pragma once

#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace xctl {

class TradeLanes {
 public:
  explicit TradeLanes(int threads);
  // Runs what is queued, then joins the threads.
  ~TradeLanes();
  TradeLanes(const TradeLanes&) = delete;
  TradeLanes& operator=(const TradeLanes&) = delete;

  // Queues `task` on `lane`'s lane.
  void Post(absl::string_view lane, std::function<void()> task);
  // Waits until `lane` has nothing queued or running.
  void Drain(absl::string_view lane);
  // Waits until no lane has anything queued or running.
  void DrainAll();
  // Tasks queued or running, over all lanes.
  size_t pending() const;

 private:
  struct Lane {
    std::deque<std::function<void()>> queue;
    bool running = false;
  };
  void Loop();

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Lane> lanes_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> ready_ ABSL_GUARDED_BY(mu_);  // lanes with work, not running
  size_t pending_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace xctl
