// ClusterMode: xctld's cluster mode (docs/cluster.md) as one object. Built
// from the config when --cluster is given, it starts the cluster parts
//   - ClusterPrices: the price-leader lease and the NATS price feed,
//   - a NATS connection of its own and ClusterFeed: position and KPI streams
//     across instances,
//   - StrategyShards: the strategy leases and their placement,
// and installs them on the modules through one interface, ClusterHooks
// (server/strategy/cluster_hooks.h): the PriceModule's fetch gate, exchange
// control's trade gate, the StrategyManager's ownership, the remote stream
// snapshots. Stop() stops them in the order a clean hand-over needs.
//
// Without --cluster nothing of it is built. Not thread-safe: the composition
// root calls it from one thread (Start, Run, Stop).
#pragma once

#include <atomic>
#include <memory>

#include "absl/status/statusor.h"
#include "server/cluster/cluster_feed.h"
#include "server/cluster/cluster_prices.h"
#include "server/cluster/nats_bus.h"
#include "server/cluster/strategy_shards.h"
#include "server/config/config.h"
#include "server/control/order_router.h"
#include "server/control/portfolio.h"
#include "server/price/price_module.h"
#include "server/strategy/cluster_hooks.h"
#include "server/strategy/strategy_manager.h"

namespace xctl::cluster {

// The modules cluster mode hooks into; built, none started yet. They must
// outlive the ClusterMode, and be stopped before it is destroyed.
struct ClusterTargets {
  PriceModule* prices = nullptr;
  OrderRouter* router = nullptr;
  Portfolio* portfolio = nullptr;
  StrategyManager* strategies = nullptr;
};

class ClusterMode {
 public:
  // Starts the cluster parts for `config` (config.cluster.enabled() must be
  // true; its store's migrations must have run) and installs their hooks on
  // `targets`. Call before any target starts. UNAVAILABLE when NATS cannot
  // be reached, the errors of the lease tables otherwise; then nothing is
  // installed and what was started is stopped.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ClusterMode>> Start(
      const ServerConfig& config, ClusterTargets targets);

  // Stop().
  ~ClusterMode();
  ClusterMode(const ClusterMode&) = delete;
  ClusterMode& operator=(const ClusterMode&) = delete;

  // Starts strategy placement; after the StrategyManager's Start.
  [[nodiscard]] absl::Status Run();
  // This instance's gRPC address for the other members (docs/cluster.md,
  // "Forwarding"): published in cluster_members at the next round. Call
  // once the listener is up (its port is known).
  void SetAdvertisedAddress(std::string address) { shards_->SetAdvertisedAddress(std::move(address)); }

  // Stops the streams over NATS (before exchange control goes), hands price
  // leadership over (another instance takes over at once), then stops the
  // strategies here and releases their leases (others take them over within
  // one round). Idempotent; call before the targets stop.
  void Stop();

  // The hooks as installed (the remote stream snapshots are for the
  // ExchangeControl service, api/exchange_control_service.h).
  const ClusterHooks& hooks() const { return hooks_; }
  // This instance's node id.
  const std::string& node_id() const { return prices_->node_id(); }
  ClusterPrices* prices() const { return prices_.get(); }
  StrategyShards* shards() const { return shards_.get(); }
  ClusterFeed* feed() const { return feed_.get(); }

 private:
  ClusterMode() = default;
  absl::Status Init(const ServerConfig& config, ClusterTargets targets);
  // Sets every hook of hooks_ on `targets`.
  void Install(ClusterTargets targets);

  ClusterHooks hooks_;
  std::unique_ptr<ClusterPrices> prices_;
  std::unique_ptr<StrategyShards> shards_;
  // shards_ once built, for the feed's publisher thread (epoch_of), which
  // starts before it.
  std::atomic<const StrategyShards*> shards_ready_{nullptr};
  // Declared after the bus: destroyed first.
  std::unique_ptr<NatsBus> feed_bus_;
  std::unique_ptr<ClusterFeed> feed_;
  bool stopped_ = false;
};

}  // namespace xctl::cluster
