// ClusterFeed's state (internal: included only by the ClusterFeed .cc files
// of this folder, never by other modules or tests). One object, split by side:
//
//  - cluster_feed.cc: Start, Stop and the stats (the lifetime);
//  - cluster_feed_publish.cc: the publisher, the worker thread that drains
//    the local feed subscription and publishes local strategies' changes and
//    the periodic refresh;
//  - cluster_feed_cache.cc: the receiver, the NATS callbacks that admit
//    remote messages (own, local, duplicate, gap), the remote snapshot cache
//    they fill, its forgetting rule, and the snapshot queries.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/cluster/cluster_feed.h"
#include "server/cluster/feed_codec.h"
#include "server/cluster/nats_bus.h"
#include "server/control/control_feed.h"

namespace xctl::cluster {

// Everything a ClusterFeed holds; ClusterFeed owns one and forwards to it.
struct ClusterFeed::Impl {
  ClusterFeedOptions options;
  NatsBus* bus = nullptr;
  ControlFeed* feed = nullptr;
  uint64_t incarnation = 0;

  // Publisher side: the worker thread drains the local subscription.
  std::unique_ptr<FeedSubscription> local_sub;
  absl::Mutex work_mu;
  bool pending ABSL_GUARDED_BY(work_mu) = false;
  bool stopping ABSL_GUARDED_BY(work_mu) = false;
  std::thread worker;
  // Only the worker touches these.
  uint64_t position_sequence = 0;
  uint64_t kpi_sequence = 0;
  int64_t last_publish_error_log_ms = 0;

  // Receiver side (two NATS delivery threads).
  std::unique_ptr<NatsSubscription> position_nats_sub;
  std::unique_ptr<NatsSubscription> kpi_nats_sub;

  struct Cached {
    std::string node;
    int64_t last_heard_ms = 0;
    std::map<int64_t, PositionView> open;  // by position id
    std::optional<KpiView> kpis;
  };
  struct Order {
    uint64_t incarnation = 0;
    uint64_t sequence = 0;
  };
  mutable absl::Mutex mu;
  absl::flat_hash_map<std::string, Cached> cache ABSL_GUARDED_BY(mu);
  // Per publisher, for positions and for KPIs.
  absl::flat_hash_map<std::string, Order> position_order ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<std::string, Order> kpi_order ABSL_GUARDED_BY(mu);
  Stats stats ABSL_GUARDED_BY(mu);
  // Every decoded, in-order KPI message, own ones included (own mutex).
  ClusterKpis cluster_kpis;
  int64_t last_invalid_log_ms ABSL_GUARDED_BY(mu) = 0;
  int64_t last_gap_log_ms ABSL_GUARDED_BY(mu) = 0;

  absl::Duration ForgetAfter() const {
    if (options.forget_after != absl::ZeroDuration()) return options.forget_after;
    if (options.refresh_interval > absl::ZeroDuration()) return 3 * options.refresh_interval;
    return absl::InfiniteDuration();
  }

  // ---- publisher (cluster_feed_publish.cc) ----

  bool WorkReady() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(work_mu) { return pending || stopping; }

  void Wake() {
    absl::MutexLock lock(&work_mu);
    pending = true;
  }

  // The worker thread: drains the local subscription when woken, publishes
  // the refresh and forgets silent strategies when their times come.
  void Run();
  // Publishes encoded bytes on `subject`, counting and (once per 10 s)
  // logging failures.
  void Publish(const std::string& subject, absl::StatusOr<std::string> bytes);
  FeedMessageHeader Header(absl::string_view strategy_id, uint64_t sequence, bool full) const;
  // One strategy's rows: one message when `full`, else split at
  // kMaxPositionsPerMessage.
  void PublishPositions(absl::string_view strategy_id, std::vector<PositionView> rows, bool full);
  void PublishKpi(KpiView view, bool full);
  // A drained batch of the local feed: the changes of local strategies, one
  // message per strategy; aggregates are never published.
  void PublishBatch(FeedSubscription::Batch batch);
  // The complete state of every local strategy (full_state).
  void Refresh();

  // ---- receiver and cache (cluster_feed_cache.cc) ----

  // Drops the cached strategies nothing was heard about for ForgetAfter().
  void Forget();
  // Counts an undecodable or inconsistent message, logged once per 10 s.
  void Invalid(absl::string_view subject, absl::string_view error)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Whether to apply a message: not ours, of a strategy we do not run, in
  // order. Counts what it drops.
  bool Admit(absl::string_view subject, absl::string_view prefix, const FeedMessageHeader& h,
             absl::flat_hash_map<std::string, Order>& orders, absl::string_view kind)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // The NATS callbacks of `xctl.positions.>` and `xctl.kpis.>`.
  void OnPositions(absl::string_view subject, absl::string_view payload);
  void OnKpis(absl::string_view subject, absl::string_view payload);
};

}  // namespace xctl::cluster
