#include "server/price/subscription.h"

namespace xctl {

SubscriptionState::SubscriptionState(std::vector<std::string> pairs,
                                     std::function<void()> on_ready)
    : all_(pairs.empty()),
      pairs_(pairs.begin(), pairs.end()),
      on_ready_(std::move(on_ready)) {}

void SubscriptionState::Offer(const std::vector<TickPtr>& ticks) {
  bool notify = false;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    bool was_empty = pending_.empty();
    for (const TickPtr& tick : ticks) {
      if (!Wants(tick->pair)) continue;
      auto [it, inserted] = index_.try_emplace(tick->pair, pending_.size());
      if (inserted) {
        pending_.push_back(tick);
      } else {
        pending_[it->second] = tick;
        ++conflated_;
        ++total_conflated_;
      }
    }
    notify = was_empty && !pending_.empty() && on_ready_;
    if (notify) ++notifying_;
  }
  if (notify) {
    on_ready_();
    absl::MutexLock lock(&mu_);
    --notifying_;
  }
}

TickBatch SubscriptionState::Drain() {
  absl::MutexLock lock(&mu_);
  TickBatch batch;
  batch.ticks.swap(pending_);
  batch.conflated = conflated_;
  conflated_ = 0;
  index_.clear();
  return batch;
}

bool SubscriptionState::HasPending() const {
  absl::MutexLock lock(&mu_);
  return !pending_.empty();
}

uint64_t SubscriptionState::total_conflated() const {
  absl::MutexLock lock(&mu_);
  return total_conflated_;
}

void SubscriptionState::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
  mu_.Await(absl::Condition(
      +[](int* n) { return *n == 0; }, &notifying_));
}

}  // namespace xctl
