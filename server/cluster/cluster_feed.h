// ClusterFeed: position and KPI streams across instances in cluster mode
// (docs/cluster.md, "Streams"). It does two things and nothing more:
//
// 1. Publisher: it subscribes to this instance's ControlFeed (positions,
//    closed ones included, and KPIs) and publishes the changes of the
//    strategies this instance runs on NATS, one message per strategy and
//    batch: positions on `xctl.positions.<strategy_id>`, the strategy's KPIs
//    on `xctl.kpis.<strategy_id>` (protobuf, validated on decode). Every
//    `refresh_interval` it also publishes the complete state of each local
//    strategy (all open positions, its KPIs), so a receiver that started late
//    or lost a message converges.
// 2. Receiver: it subscribes to `xctl.positions.>` and `xctl.kpis.>`,
//    ignores its own node's messages and those of strategies it runs itself,
//    republishes the rest into the local ControlFeed (so every stream on this
//    instance, with its filter and conflation, sees them) and keeps a remote
//    snapshot cache: the open positions by id (dropped on close) and the
//    latest KPI view of each remote strategy, with the node that sent them
//    and when. Streams start from that cache (RemoteOpenPositions,
//    RemoteKpis) merged with the local snapshot.
//
// Type and "all" aggregates are never published: they stay per instance.
// Used only in cluster mode; nothing here runs otherwise. The messages and
// their codec are in feed_codec.h; the implementation is split over
// cluster_feed.cc (lifetime), cluster_feed_publish.cc (publisher) and
// cluster_feed_cache.cc (receiver, cache), sharing cluster_feed_impl.h.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/cluster/cluster_kpis.h"
#include "server/cluster/feed_codec.h"  // the messages, for users of the feed
#include "server/cluster/nats_bus.h"
#include "server/common/clock.h"
#include "server/control/control_feed.h"

namespace xctl::cluster {

// ---- The feed bridge ----

struct ClusterFeedOptions {
  // This instance's node id (the publisher of its messages).
  std::string node_id;
  // Whether this instance runs a strategy (required). Only local strategies'
  // changes are published; remote messages about a local strategy are
  // ignored and cached entries of it are hidden: local views win. Called
  // without ClusterFeed locks held, from the worker and NATS threads.
  std::function<bool(absl::string_view strategy_id)> is_local;
  // Complete local state for the periodic refresh: every open position, and
  // the KPI views (only kStrategy ones are used). Optional: without them no
  // refresh is published.
  std::function<std::vector<PositionView>()> local_open_positions;
  std::function<std::vector<KpiView>()> local_kpis;
  // This instance's lease epoch of a local strategy, put into every message
  // header (ClusterKpis keeps the highest one's KPIs). Optional: 0 without.
  std::function<int64_t(absl::string_view strategy_id)> epoch_of;
  // How often the complete state of local strategies is published (zero:
  // never).
  absl::Duration refresh_interval = absl::Seconds(5);
  // Cached entries of a strategy nothing was heard about for this long are
  // dropped (its owner died or gave it up). Zero: 3 x refresh_interval when
  // the refresh is on, else never; absl::InfiniteDuration(): never.
  absl::Duration forget_after = absl::ZeroDuration();
  // Publish times, "last heard", and the refresh and forget timers. Must
  // outlive the ClusterFeed.
  const Clock* clock = &SystemClock();
};

class ClusterFeed {
 public:
  // Subscribes to the local feed and to the NATS subjects (flushed, so the
  // subscriptions are active on the server when this returns) and starts the
  // publishing thread. `bus` and `feed` must outlive the ClusterFeed.
  // INVALID_ARGUMENT without node_id or is_local; the bus' errors otherwise.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ClusterFeed>> Start(
      NatsBus& bus, ControlFeed& feed, ClusterFeedOptions options);

  ~ClusterFeed();  // Stop()
  ClusterFeed(const ClusterFeed&) = delete;
  ClusterFeed& operator=(const ClusterFeed&) = delete;

  // Unsubscribes from NATS and the local feed and stops the thread;
  // idempotent. The cache stays readable.
  void Stop();

  // The cached open positions of remote strategies matching `filter`, by
  // strategy then id; strategies for which is_local is true are skipped.
  std::vector<PositionView> RemoteOpenPositions(const FeedFilter& filter) const;
  // The cached KPI views (kStrategy) of remote strategies matching `filter`.
  std::vector<KpiView> RemoteKpis(const FeedFilter& filter) const;

  // One cached strategy: who sent it and when it was last heard of.
  struct RemoteStrategy {
    std::string strategy_id;
    std::string node;
    int64_t last_heard_ms = 0;  // local receive time
    size_t open_positions = 0;
    bool has_kpis = false;
  };
  std::vector<RemoteStrategy> RemoteStrategies() const;

  // Every strategy's KPIs as published on NATS by its owner, this
  // instance's own included (NATS echoes them), held by owner epoch: the
  // cluster-wide aggregates per type and over all (cluster_kpis.h). The
  // same messages reach every instance, so the tables agree within one
  // publication interval.
  const ClusterKpis& cluster_kpis() const;

  struct Stats {
    uint64_t published = 0;       // messages published on NATS
    uint64_t publish_errors = 0;  // encode or publish failed (logged)
    uint64_t refreshes = 0;       // full-state rounds published
    uint64_t received = 0;        // remote messages applied
    uint64_t own_ignored = 0;     // our own messages (NATS echoes them)
    uint64_t local_ignored = 0;   // remote messages about a strategy we run
    uint64_t invalid = 0;         // undecodable or inconsistent (logged)
    uint64_t duplicates = 0;      // sequence not above the last one seen
    uint64_t gaps = 0;            // messages missed (sequence jumps)
    uint64_t forgotten = 0;       // strategies dropped from the cache by age
  };
  Stats stats() const;

  // The state behind the feed (internal: cluster_feed_impl.h).
  struct Impl;

 private:
  explicit ClusterFeed(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace xctl::cluster
