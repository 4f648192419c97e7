// ClusterKpis: the cluster-wide KPI aggregates per strategy type and over
// "all" (issue #18, item 3; docs/cluster.md, "Cluster-wide KPIs"), folded
// from the per-strategy KPIs every owner publishes. Each strategy's entry
// carries the lease epoch of the owner that published it: a value with a
// lower epoch than the one held never replaces it, so a deposed owner's
// late (stale) figures never win over the new owner's; an equal or higher
// epoch replaces it. Every instance that applies the same publications
// holds the same table, so the aggregates agree across instances within
// one publication interval.
//
// Thread-safe (one mutex); no I/O, no clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/control/control_feed.h"
#include "server/control/portfolio.h"

namespace xctl::cluster {

class ClusterKpis {
 public:
  // One strategy's KPIs (kind kStrategy, name = its id, strategy_type set)
  // as published by `owner` under lease `epoch`. Returns false (nothing
  // changed) when the held entry has a higher epoch. `heard_ms`: when it
  // arrived (for ForgetSilent).
  bool Apply(const KpiView& strategy_kpis, const std::string& owner, int64_t epoch,
             int64_t heard_ms = 0);
  // Forgets a strategy (deleted, or its owner gone with nobody taking it).
  void Remove(absl::string_view strategy_id);
  // Forgets every strategy last applied before `before_ms` (owners refresh
  // theirs periodically; a deleted or orphaned one falls silent).
  void ForgetSilent(int64_t before_ms);

  // The aggregate of every held strategy of `type` (kind kType), or of all
  // (kind kAll) when `type` is empty. See SumKpis for which figures are
  // summed and which are left undefined.
  KpiView Aggregate(absl::string_view type) const;
  // The held per-strategy views, by id.
  std::vector<KpiView> Strategies() const;
  // What GetKpis answers in cluster mode (docs/cluster.md, "Cluster-wide
  // KPIs"), in the Portfolio's shape: for `strategy_id`, its held view
  // (NOT_FOUND when none is held); for `strategy_type`, the type's
  // aggregate as total and only type, and its strategies (NOT_FOUND when
  // none of that type is held); for neither, the "all" aggregate, every
  // type's aggregate and every strategy. Strategies and types by name.
  // INVALID_ARGUMENT when both are set (CheckKpiScope).
  [[nodiscard]] absl::StatusOr<Portfolio::KpiReport> Report(absl::string_view strategy_id,
                                                           absl::string_view strategy_type) const;
  // The epoch held for a strategy, if any.
  std::optional<int64_t> EpochOf(absl::string_view strategy_id) const;

 private:
  struct Entry {
    KpiView view;
    std::string owner;
    int64_t epoch = 0;
    int64_t heard_ms = 0;
  };
  KpiView AggregateLocked(absl::string_view type) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  absl::btree_map<std::string, Entry, std::less<>> entries_ ABSL_GUARDED_BY(mu_);
};

// Sums per-strategy figures into one aggregate: balances, PnL, fees,
// equity, funding, unexplained, trade, liquidation and open-position counts
// and exposure per symbol are added; the return is recomputed from the sums;
// the largest win and loss are the extremes; the average holding time is
// weighted by closed trades. Figures that need every trade or the equity
// curve (win rate, averages of wins and losses, profit factor, expectancy,
// drawdown, Sharpe, Sortino, Calmar) are left undefined (max_drawdown 0).
KpiFigures SumKpis(const std::vector<const KpiFigures*>& members);

}  // namespace xctl::cluster
