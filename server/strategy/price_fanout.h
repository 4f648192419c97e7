// PriceFanout: the price subscriptions of the running price-driven
// strategies. Rather than one PriceModule subscription per strategy, the
// strategies are spread over a few shards (kShards, by a hash of their id),
// each one all-pairs callback subscription; a shard's callback hands each
// tick to the strategies of the shard that trade its pair (an index pair ->
// strategies). A published batch then costs kShards hand-offs to the price
// module's dispatcher threads instead of one per strategy
// (docs/performance-load.md: 1,000 per-strategy subscriptions at about 4 us
// each made the tick -> OnTick p99 5.7 ms).
//
// The price: a strategy slow in OnTick delays the others of its shard
// (before, it only conflated its own ticks). A shard subscribes with its
// first member and unsubscribes with its last.
//
// Thread-safe. Its lock guards the shards (members, index, subscription);
// it is a leaf: callbacks copy the index under it and deliver without it,
// and a shard's subscription is dropped after the lock is released.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "server/price/price_module.h"
#include "server/strategy/strategy_entry.h"

namespace xctl {

class PriceFanout {
 public:
  // Hands `ticks` (the strategy's pairs only, in batch order) to `entry`.
  using Deliver = std::function<void(StrategyEntry& entry, const std::vector<TickPtr>& ticks)>;
  static constexpr int kShards = 8;

  // `prices` and whatever `deliver` uses must outlive Close().
  PriceFanout(PriceModule* prices, Deliver deliver);
  // Close().
  ~PriceFanout();
  PriceFanout(const PriceFanout&) = delete;
  PriceFanout& operator=(const PriceFanout&) = delete;

  // `entry` receives the ticks of `pairs` until the returned feed is
  // destroyed (the feed may outlive this object).
  std::unique_ptr<TickFeed> Join(StrategyEntryPtr entry, const std::string& id,
                                 const std::vector<std::string>& pairs);

  // Drops every shard's subscription, waiting for running callbacks; no
  // delivery happens after it returns. Idempotent.
  void Close();

  // Shards subscribed now (tests).
  int subscribed_shards() const;

 private:
  struct Core;
  class Member;
  std::shared_ptr<Core> core_;
};

}  // namespace xctl
