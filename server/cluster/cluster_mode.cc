#include "server/cluster/cluster_mode.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"

namespace xctl::cluster {

absl::StatusOr<std::unique_ptr<ClusterMode>> ClusterMode::Start(const ServerConfig& config,
                                                                ClusterTargets targets) {
  std::unique_ptr<ClusterMode> mode(new ClusterMode());
  if (absl::Status s = mode->Init(config, targets); !s.ok()) {
    mode->Stop();
    return s;
  }
  mode->Install(targets);
  return mode;
}

ClusterMode::~ClusterMode() { Stop(); }

absl::Status ClusterMode::Init(const ServerConfig& config, ClusterTargets targets) {
  // Price leadership: only the price leader fetches; every instance ingests
  // the leader's ticks from NATS. Its fetch gate is installed with the rest.
  auto cluster = ClusterPrices::Start(
      ClusterPricesOptions{.nats_url = config.cluster.nats_url,
                           .database_url = config.database,
                           .node_id = config.cluster.node_id,
                           .lease_ttl = absl::Milliseconds(EffectiveLeaseTtlMs(config)),
                           .publish_per_pair = config.cluster.publish_per_pair,
                           .install_fetch_gate = false},
      *targets.prices);
  if (!cluster.ok()) return cluster.status();
  prices_ = *std::move(cluster);
  hooks_.fetch_gate = prices_->fetch_gate();

  // Position/KPI streams over NATS (docs/cluster.md, "Streams"): a NATS
  // connection of its own publishes this instance's strategy changes and
  // feeds the other instances' into the portfolio's feed; stream snapshots
  // add the remote cache.
  const std::string node = prices_->node_id();
  auto bus = NatsBus::Connect(config.cluster.nats_url, absl::StrCat("xctld-", node, "-feed"));
  if (!bus.ok()) return bus.status();
  feed_bus_ = *std::move(bus);
  OrderRouter* router = targets.router;
  Portfolio* portfolio = targets.portfolio;
  auto feed = ClusterFeed::Start(
      *feed_bus_, portfolio->feed(),
      ClusterFeedOptions{
          .node_id = node,
          .is_local = [router](absl::string_view id) { return router->Info(id).has_value(); },
          .local_open_positions = [portfolio] { return portfolio->OpenPositionViews({}); },
          .local_kpis = [portfolio] { return portfolio->KpiViews({}); },
          .epoch_of = [this](absl::string_view id) -> int64_t {
            const StrategyShards* shards = shards_ready_.load(std::memory_order_acquire);
            return shards ? shards->HeldEpoch(id).value_or(0) : 0;
          },
          .refresh_interval = absl::Milliseconds(
              std::max<int64_t>(1000, 5 * int64_t{config.price.interval_ms}))});
  if (!feed.ok()) return feed.status();
  feed_ = *std::move(feed);
  ClusterFeed* remote = feed_.get();
  hooks_.remote_positions = [remote](const FeedFilter& f) {
    return remote->RemoteOpenPositions(f);
  };
  hooks_.remote_kpis = [remote](const FeedFilter& f) { return remote->RemoteKpis(f); };
  hooks_.cluster_kpis = [remote](absl::string_view strategy_id, absl::string_view type) {
    return remote->cluster_kpis().Report(strategy_id, type);
  };

  // Strategy sharding: the manager runs only the strategies whose lease this
  // instance holds, and exchange control lets only their trades out.
  auto shards = StrategyShards::Create(
      StrategyShardsOptions{
          .database_url = config.database,
          .node_id = node,
          .lease_ttl = absl::Milliseconds(EffectiveStrategyLeaseTtlMs(config))},
      *targets.strategies);
  if (!shards.ok()) return shards.status();
  shards_ = *std::move(shards);
  shards_ready_.store(shards_.get(), std::memory_order_release);
  hooks_.ownership = shards_.get();
  StrategyShards* gate = shards_.get();
  hooks_.trade_gate = [gate](absl::string_view strategy_id) {
    return gate->CheckOwner(strategy_id);
  };
  hooks_.tenure_source = [gate](absl::string_view strategy_id) {
    return gate->TenureOf(strategy_id);
  };
  hooks_.remote_owner = [gate](absl::string_view strategy_id) {
    return gate->RemoteOwnerOf(strategy_id);
  };
  hooks_.member_address = [gate](absl::string_view node) { return gate->AddressOf(node); };
  return absl::OkStatus();
}

void ClusterMode::Install(ClusterTargets targets) {
  targets.prices->SetFetchGate(hooks_.fetch_gate);
  targets.router->SetTradeGate(hooks_.trade_gate);
  targets.router->SetTenureSource(hooks_.tenure_source);
  targets.strategies->SetOwnership(hooks_.ownership);
  spdlog::info("event=cluster_mode_installed node={}", LogQuote(node_id()));
}

absl::Status ClusterMode::Run() { return shards_->Run(); }

void ClusterMode::Stop() {
  if (stopped_) return;
  stopped_ = true;
  // Streams over NATS first: before exchange control goes away.
  if (feed_) feed_->Stop();
  // Hand price leadership over: another instance takes over at once.
  if (prices_) prices_->Stop();
  // Strategy sharding: stop the strategies here and release their leases
  // (others take them over within one round).
  if (shards_) shards_->Stop();
}

}  // namespace xctl::cluster
