// ClusterPrices: price leadership in cluster mode (docs/cluster.md). Wires one
// PriceModule to NATS and to the "price-leader" lease:
//
// - every instance subscribes to the batch subject (xctl.batch.prices) and
//   feeds what arrives into PriceModule::Ingest (the leader too: it hears its
//   own messages), after DecodeTickBatch and TickBatchOrder (a deposed
//   leader's late batches are dropped) and an age check (a batch older than
//   the staleness limit, e.g. one buffered through a NATS outage, is dropped);
// - a LeaseKeeper wants "price-leader"; while this instance holds it (and
//   NATS is connected) the PriceModule's fetch gate lets its poll loop fetch,
//   and the fetched ticks are published on NATS stamped with the lease epoch
//   instead of being ingested locally. Lost lease: the next poll does not
//   fetch, and a fetch in flight is not published;
// - NATS disconnected: this instance stops wanting the lease (a leader
//   releases it, so an instance that still reaches NATS can take over) and
//   wants it again once reconnected. Nothing is restarted.
//
// Every instance keeps its own poll timer for CheckStaleness, so a gap in the
// feed shows as stale pairs after the configured limit, never as old prices
// presented as fresh. Strategy placement is not handled here.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/cluster/lease.h"
#include "server/cluster/lease_keeper.h"
#include "server/cluster/nats_bus.h"
#include "server/cluster/tick_codec.h"
#include "server/price/price_module.h"

namespace xctl::cluster {

struct ClusterPricesOptions {
  // NATS URL(s), credentials allowed (never logged unredacted).
  std::string nats_url;
  // The shared PostgreSQL database (its migrations must have run: open the
  // Store first). SQLite works too, for tests on one host.
  std::string database_url;
  // This instance's id (lease holder and publisher); empty: DefaultNodeId().
  std::string node_id;
  // TTL of the price-leader lease (the keeper renews every ttl/3).
  absl::Duration lease_ttl = absl::Seconds(15);
  // Also publish each pair on xctl.prices.<PAIR>.
  bool publish_per_pair = false;
  // Batches whose publish time is older than this by the local clock are
  // dropped (zero: stale_after_intervals x interval of the PriceModule).
  absl::Duration max_batch_age = absl::ZeroDuration();
  // NATS connection options (tests shorten reconnect waits).
  NatsOptions nats;
  // Publish times, the batch age check and the lease keeper's deadlines.
  // Must outlive the ClusterPrices.
  const Clock* clock = &SystemClock();
  // The leases' "now": null (xctld) is the database's clock; tests give
  // the same FakeClock as `clock` (LeaseTable::Open).
  const Clock* lease_clock = nullptr;
  // Start installs the fetch gate on the PriceModule itself. False: the
  // caller installs fetch_gate() (ClusterMode does, with the other hooks).
  bool install_fetch_gate = true;
};

// "<hostname>-<pid>-<6 random hex digits>": unique per process run.
std::string DefaultNodeId();

class ClusterPrices {
 public:
  struct Stats {
    uint64_t batches_published = 0;   // batch messages sent as leader
    uint64_t publish_errors = 0;      // encode or publish failures
    uint64_t fetches_not_published = 0;  // fetched, then lost the lease or NATS
    uint64_t batches_applied = 0;     // received and fed into Ingest
    uint64_t batches_stale_epoch = 0; // from a deposed leader: dropped
    uint64_t batches_duplicate = 0;   // duplicate or reordered: dropped
    uint64_t batches_too_old = 0;     // older than max_batch_age: dropped
    uint64_t batches_invalid = 0;     // did not decode: dropped
    uint64_t gaps = 0;                // batches of the current epoch never seen
  };

  // Opens the lease table, connects to NATS (UNAVAILABLE naming the redacted
  // URL when it cannot), subscribes to the batch subject, installs the fetch
  // gate on `prices` (unless install_fetch_gate is false) and starts the
  // lease keeper. Call before prices.Start(); `prices` must outlive this
  // object, and must be stopped before this object is destroyed.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ClusterPrices>> Start(
      ClusterPricesOptions options, PriceModule& prices);

  // Stop().
  ~ClusterPrices();
  ClusterPrices(const ClusterPrices&) = delete;
  ClusterPrices& operator=(const ClusterPrices&) = delete;

  // Releases the lease (another instance takes over within one keeper
  // cycle), stops fetching, unsubscribes and closes NATS. With
  // `release = false` the lease is left to expire (what a crash looks like;
  // tests). Idempotent.
  void Stop(bool release = true);

  // The PriceModule's fetch gate of this instance (see install_fetch_gate);
  // valid while this object lives.
  PriceModule::FetchGate fetch_gate() {
    return [this] { return Gate(); };
  }

  // The lease epoch while this instance is the price leader.
  std::optional<int64_t> LeaderEpoch() const;
  const std::string& node_id() const { return options_.node_id; }
  bool nats_connected() const;
  Stats stats() const;

 private:
  ClusterPrices(ClusterPricesOptions options, PriceModule& prices);
  absl::Status Init();

  // PriceModule's fetch gate (poll thread).
  PriceModule::FetchSink Gate();
  // Publishes fetched ticks under `epoch` if still held (poll thread).
  void PublishTicks(int64_t epoch, std::vector<Tick> ticks);
  // NATS delivery thread, one message at a time.
  void OnBatch(absl::string_view payload);
  // libnats thread: want the lease only while connected.
  void OnNatsState(NatsState state);

  ClusterPricesOptions options_;
  PriceModule& prices_;
  absl::Duration max_batch_age_;

  std::unique_ptr<LeaseTable> table_;
  std::unique_ptr<LeaseKeeper> keeper_;
  std::unique_ptr<NatsBus> bus_;
  std::unique_ptr<NatsSubscription> subscription_;

  // Set once the keeper exists; read by OnNatsState.
  std::atomic<bool> keeper_ready_{false};
  std::atomic<bool> stopped_{false};

  // Leader side (poll thread; guarded for stats readers).
  mutable absl::Mutex pub_mu_;
  int64_t pub_epoch_ ABSL_GUARDED_BY(pub_mu_) = 0;
  uint64_t batch_sequence_ ABSL_GUARDED_BY(pub_mu_) = 0;
  absl::flat_hash_map<std::string, uint64_t> pair_sequence_ ABSL_GUARDED_BY(pub_mu_);
  bool paused_logged_ ABSL_GUARDED_BY(pub_mu_) = false;

  // Follower side (the subscription callback, serial).
  TickBatchOrder order_;
  int64_t logged_stale_epoch_ = 0;
  int64_t last_invalid_log_ms_ = 0;

  mutable absl::Mutex stats_mu_;
  Stats stats_ ABSL_GUARDED_BY(stats_mu_);
};

}  // namespace xctl::cluster
