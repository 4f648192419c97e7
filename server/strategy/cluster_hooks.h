// ClusterHooks: every point where cluster mode (docs/cluster.md) changes the
// modules below it, in one struct. cluster::ClusterMode fills it and installs
// it (ClusterMode::Install); without --cluster nothing fills it and every
// module runs as on a single instance.
//
// It lives here, in the strategy module, because that is the lowest layer
// that sees the three modules it reaches into (price, control, strategy);
// the modules themselves keep their own setters (PriceModule::SetFetchGate,
// OrderRouter::SetTradeGate, StrategyManager::SetOwnership), so each can
// be tested with a hook of its own. Every hook is set before its module
// starts, once.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/control/control_feed.h"
#include "server/control/portfolio.h"
#include "server/exchange/tenure.h"
#include "server/price/price_module.h"
#include "server/strategy/strategy_ownership.h"

namespace xctl {

// Another live instance that holds a strategy's lease (docs/cluster.md,
// "Forwarding"), as cluster::StrategyShards last saw it.
struct RemoteOwner {
  std::string node;
  int64_t epoch = 0;
  // Its advertised gRPC address (cluster_members); empty when it published
  // none (yet).
  std::string address;
};

struct ClusterHooks {
  // PriceModule: before each poll, whether this instance fetches (only the
  // price leader does) and where the fetched ticks go (NATS, not Ingest).
  PriceModule::FetchGate fetch_gate;
  // OrderRouter: OK when a trade of this strategy may go out from this
  // instance (it holds the strategy's lease), else UNAVAILABLE naming the
  // owner (OrderRouter::TradeGate).
  std::function<absl::Status(absl::string_view strategy_id)> trade_gate;
  // OrderRouter: the lease tenure a strategy's exchange is built under, so
  // its writes are fenced and its live calls gated (OrderRouter::TenureSource).
  std::function<absl::StatusOr<Tenure>(absl::string_view strategy_id)> tenure_source;
  // StrategyManager: which strategies run on this instance.
  StrategyOwnership* ownership = nullptr;
  // The position and KPI streams' snapshots: what other instances run, to
  // add to the local snapshot (ExchangeControlService options).
  std::function<std::vector<PositionView>(const FeedFilter&)> remote_positions;
  std::function<std::vector<KpiView>(const FeedFilter&)> remote_kpis;
  // GetKpis (ExchangeControlService options): the cluster-wide KPIs folded
  // from every owner's published per-strategy KPIs (cluster::ClusterKpis::
  // Report): by type and over all on every instance, and one strategy's
  // when another instance runs it.
  std::function<absl::StatusOr<Portfolio::KpiReport>(absl::string_view strategy_id,
                                                     absl::string_view strategy_type)>
      cluster_kpis;
  // Forwarding (api/forwarder.h): the live instance other than this one
  // that runs a strategy, with its address (nullopt: answer here), and a
  // live member's address by node id (empty when unknown).
  std::function<std::optional<RemoteOwner>(absl::string_view strategy_id)> remote_owner;
  std::function<std::string(absl::string_view node)> member_address;
};

}  // namespace xctl
