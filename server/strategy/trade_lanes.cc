#include "server/strategy/trade_lanes.h"

#include <algorithm>
#include <exception>

#include "server/common/log.h"

namespace xctl {

TradeLanes::TradeLanes(int threads) {
  for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this] { Loop(); });
}

TradeLanes::~TradeLanes() {
  DrainAll();
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : threads_) t.join();
}

void TradeLanes::Post(absl::string_view lane_name, std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  auto [it, fresh] = lanes_.try_emplace(lane_name);
  Lane& lane = it->second;
  const bool idle = !lane.running && lane.queue.empty();
  lane.queue.push_back(std::move(task));
  ++pending_;
  if (idle) ready_.emplace_back(lane_name);
}

void TradeLanes::Loop() {
  absl::MutexLock lock(&mu_);
  for (;;) {
    mu_.Await(absl::Condition(
        +[](TradeLanes* t) ABSL_EXCLUSIVE_LOCKS_REQUIRED(t->mu_) {
          return t->stopping_ || !t->ready_.empty();
        },
        this));
    if (ready_.empty()) return;  // stopping, nothing left
    std::string name = std::move(ready_.front());
    ready_.pop_front();
    Lane& lane = lanes_[name];
    std::function<void()> task = std::move(lane.queue.front());
    lane.queue.pop_front();
    lane.running = true;
    mu_.Unlock();
    try {
      task();
    } catch (const std::exception& e) {
      spdlog::error("event=trade_task_failed strategy={} error={}", name, LogQuote(e.what()));
    } catch (...) {
      spdlog::error("event=trade_task_failed strategy={} error=unknown", name);
    }
    task = nullptr;  // what it holds goes before the lane counts as idle
    mu_.Lock();
    --pending_;
    Lane& after = lanes_[name];  // the map may have rehashed meanwhile
    after.running = false;
    if (!after.queue.empty()) {
      ready_.push_back(std::move(name));
    } else {
      lanes_.erase(name);
    }
  }
}

void TradeLanes::Drain(absl::string_view lane_name) {
  absl::MutexLock lock(&mu_);
  struct Idle {
    TradeLanes* lanes;
    absl::string_view name;
  } idle{this, lane_name};
  mu_.Await(absl::Condition(
      +[](Idle* i) ABSL_EXCLUSIVE_LOCKS_REQUIRED(i->lanes->mu_) {
        return !i->lanes->lanes_.contains(i->name);
      },
      &idle));
}

void TradeLanes::DrainAll() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](size_t* n) { return *n == 0; }, &pending_));
}

size_t TradeLanes::pending() const {
  absl::MutexLock lock(&mu_);
  return pending_;
}

}  // namespace xctl
