// Subjects: every NATS subject xctl uses in cluster mode, built and parsed
// in this one place (docs/cluster.md lists them). Pairs and strategy ids are
// validated first, so a subject never gains a token or a wildcard from data.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace xctl::cluster {

// Prefix of the per-pair price subjects; `xctl.prices.*` (or `.>`) receives
// every pair.
inline constexpr absl::string_view kPricePrefix = "xctl.prices.";
// One message per poll holding every changed pair (what followers consume).
// Kept outside `xctl.prices.` so a wildcard on per-pair subjects never also
// receives batches.
inline constexpr absl::string_view kPriceBatchSubject = "xctl.batch.prices";
// Position and KPI updates of one strategy, published by the instance that
// holds the strategy's lease (server/cluster/cluster_feed.h has the codec).
inline constexpr absl::string_view kPositionPrefix = "xctl.positions.";
inline constexpr absl::string_view kKpiPrefix = "xctl.kpis.";

// "xctl.prices.BTC-USDT". INVALID_ARGUMENT unless `pair` is a valid
// instrument id (server/common/symbol.h).
[[nodiscard]] absl::StatusOr<std::string> PriceSubject(absl::string_view pair);

// The pair of a per-pair price subject ("xctl.prices.BTC-USDT" -> "BTC-USDT");
// nullopt for any other subject or an invalid pair.
std::optional<std::string> PairOfPriceSubject(absl::string_view subject);

// "xctl.positions.<id>" / "xctl.kpis.<id>". INVALID_ARGUMENT unless `strategy_id`
// is a valid strategy id.
[[nodiscard]] absl::StatusOr<std::string> PositionSubject(absl::string_view strategy_id);
[[nodiscard]] absl::StatusOr<std::string> KpiSubject(absl::string_view strategy_id);

// Lease names: "price-leader" and "strategy:<id>".
inline constexpr absl::string_view kPriceLeaderLease = "price-leader";
[[nodiscard]] absl::StatusOr<std::string> StrategyLeaseName(absl::string_view strategy_id);
// The strategy id of a strategy lease name; nullopt for other names.
std::optional<std::string> StrategyOfLeaseName(absl::string_view lease_name);

}  // namespace xctl::cluster
