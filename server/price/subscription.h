// Subscription: one subscriber's view of the price bus. Holds at most one
// pending tick per pair; a newer tick replaces an undelivered one and counts
// as conflated. Destroying it unsubscribes at once (and waits for an
// in-progress notification to return, so the owner may free what on_ready
// uses right after).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "server/price/tick.h"

namespace xctl {

// What a subscriber takes in one go.
struct TickBatch {
  // Newest tick of every pair that changed since the last Drain, in the
  // order the pairs first changed.
  std::vector<TickPtr> ticks;
  // Ticks replaced before this subscriber took them, since the last Drain.
  uint64_t conflated = 0;
  // When `ticks` is exactly one published batch, that batch as published:
  // consumers may key work done once per batch on it (the gRPC streams
  // serialize it once for all streams). An all-pairs subscriber gets it when
  // it kept up, and also when it fell behind and the newest batch priced
  // every configured pair (it replaced all that was pending: `conflated`
  // counts those).
  std::shared_ptr<const std::vector<TickPtr>> whole;
};

// Shared between the bus and the Subscription handle. Internal to the price
// module; consumers use Subscription.
class SubscriptionState {
 public:
  SubscriptionState(std::vector<std::string> pairs, std::function<void()> on_ready);

  using SharedBatch = std::shared_ptr<const std::vector<TickPtr>>;

  // Bus side: keeps the ticks this subscriber wants; calls on_ready when the
  // subscriber had nothing pending. Never blocks on the subscriber. An idle
  // all-pairs subscriber just keeps a reference to the shared batch (O(1)),
  // and so does one that fell behind when `covers_all` (the batch has a tick
  // of every configured pair, so it replaces everything pending); otherwise
  // ticks are merged per pair.
  void Offer(const SharedBatch& batch, bool covers_all = false);

  // Subscriber side.
  TickBatch Drain();
  bool HasPending() const;
  uint64_t total_conflated() const;
  bool Wants(const std::string& pair) const {
    return all_ || pairs_.contains(pair);
  }

  // Stops notifications; waits for a running on_ready to return.
  void Close();

 private:
  const bool all_;
  const absl::flat_hash_set<std::string> pairs_;
  const std::function<void()> on_ready_;

  void MergeLocked(const std::vector<TickPtr>& ticks) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  // The whole published batch, while it is the only thing pending.
  SharedBatch whole_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, size_t> index_ ABSL_GUARDED_BY(mu_);
  std::vector<TickPtr> pending_ ABSL_GUARDED_BY(mu_);
  uint64_t conflated_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t total_conflated_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  int notifying_ ABSL_GUARDED_BY(mu_) = 0;
};

class Subscription {
 public:
  Subscription(std::shared_ptr<SubscriptionState> state,
               std::function<void(SubscriptionState*)> unsubscribe)
      : state_(std::move(state)), unsubscribe_(std::move(unsubscribe)) {}
  ~Subscription() { Cancel(); }
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

  // Takes everything pending.
  TickBatch Drain() { return state_->Drain(); }
  bool HasPending() const { return state_->HasPending(); }
  // Ticks this subscriber never saw because newer ones replaced them.
  uint64_t total_conflated() const { return state_->total_conflated(); }

  // Unsubscribes now (also done by the destructor). Idempotent.
  void Cancel() {
    if (unsubscribe_) {
      state_->Close();
      unsubscribe_(state_.get());
      unsubscribe_ = nullptr;
    }
  }

 private:
  std::shared_ptr<SubscriptionState> state_;
  std::function<void(SubscriptionState*)> unsubscribe_;
};

}  // namespace xctl
