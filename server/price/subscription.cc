#include "server/price/subscription.h"

namespace xctl {

SubscriptionState::SubscriptionState(std::vector<std::string> pairs,
                                     std::function<void()> on_ready)
    : all_(pairs.empty()),
      pairs_(pairs.begin(), pairs.end()),
      on_ready_(std::move(on_ready)) {}

void SubscriptionState::MergeLocked(const std::vector<TickPtr>& ticks) {
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
}

void SubscriptionState::Offer(const SharedBatch& batch, bool covers_all) {
  bool notify = false;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    bool was_empty = pending_.empty() && !whole_;
    if (all_ && (was_empty || covers_all)) {
      // Nothing to merge with, or the batch replaces every pending tick: each
      // of them counts as conflated, as a merge would count it.
      const uint64_t replaced = whole_ ? whole_->size() : pending_.size();
      conflated_ += replaced;
      total_conflated_ += replaced;
      pending_.clear();
      index_.clear();
      whole_ = batch;
    } else {
      if (whole_) {
        MergeLocked(*whole_);
        whole_.reset();
      }
      MergeLocked(*batch);
    }
    notify = was_empty && (whole_ || !pending_.empty()) && on_ready_;
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
  if (whole_) {
    batch.ticks = *whole_;  // copied on the subscriber's side, not the bus's
    batch.whole = std::move(whole_);
    whole_.reset();
    batch.conflated = conflated_;
    conflated_ = 0;
    return batch;
  }
  batch.ticks.swap(pending_);
  batch.conflated = conflated_;
  conflated_ = 0;
  index_.clear();
  return batch;
}

bool SubscriptionState::HasPending() const {
  absl::MutexLock lock(&mu_);
  return whole_ || !pending_.empty();
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
