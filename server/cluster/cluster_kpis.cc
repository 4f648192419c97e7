// ClusterKpis (cluster_kpis.h): per-strategy KPIs held by owner epoch, and
// their sums per type and over all.
#include "server/cluster/cluster_kpis.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"

namespace xctl::cluster {

KpiFigures SumKpis(const std::vector<const KpiFigures*>& members) {
  KpiFigures sum;
  std::map<std::string, ExposureFigure> exposure;
  int64_t holding_weighted = 0;  // sum of average_holding_ms x closed trades
  int64_t holding_trades = 0;
  for (const KpiFigures* f : members) {
    sum.starting_balance += f->starting_balance;
    sum.realized_pnl += f->realized_pnl;
    sum.unrealized_pnl += f->unrealized_pnl;
    sum.total_pnl += f->total_pnl;
    sum.fees_paid += f->fees_paid;
    sum.equity += f->equity;
    sum.funding += f->funding;
    sum.unexplained += f->unexplained;
    sum.closed_trades += f->closed_trades;
    sum.liquidations += f->liquidations;
    sum.open_positions += f->open_positions;
    if (f->largest_win && (!sum.largest_win || *f->largest_win > *sum.largest_win)) {
      sum.largest_win = f->largest_win;
    }
    if (f->largest_loss && (!sum.largest_loss || *f->largest_loss < *sum.largest_loss)) {
      sum.largest_loss = f->largest_loss;
    }
    if (f->average_holding_ms && f->closed_trades > 0) {
      holding_weighted += *f->average_holding_ms * f->closed_trades;
      holding_trades += f->closed_trades;
    }
    for (const ExposureFigure& e : f->open_exposure) {
      ExposureFigure& to = exposure[e.symbol];
      to.symbol = e.symbol;
      to.quantity += e.quantity;
      to.notional += e.notional;
    }
  }
  if (sum.starting_balance.is_positive()) {
    sum.return_fraction = Decimal::Div(sum.total_pnl, sum.starting_balance);
  }
  if (holding_trades > 0) {
    sum.average_holding_ms = holding_weighted / holding_trades;
  }
  for (auto& [symbol, e] : exposure) sum.open_exposure.push_back(std::move(e));
  return sum;
}

bool ClusterKpis::Apply(const KpiView& strategy_kpis, const std::string& owner, int64_t epoch,
                        int64_t heard_ms) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(strategy_kpis.name);
  if (it != entries_.end() && it->second.epoch > epoch) return false;  // a deposed owner's
  entries_[strategy_kpis.name] = Entry{strategy_kpis, owner, epoch, heard_ms};
  return true;
}

void ClusterKpis::ForgetSilent(int64_t before_ms) {
  absl::MutexLock lock(&mu_);
  absl::erase_if(entries_, [&](const auto& kv) { return kv.second.heard_ms < before_ms; });
}

void ClusterKpis::Remove(absl::string_view strategy_id) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(strategy_id);
  if (it != entries_.end()) entries_.erase(it);
}

KpiView ClusterKpis::Aggregate(absl::string_view type) const {
  absl::MutexLock lock(&mu_);
  return AggregateLocked(type);
}

KpiView ClusterKpis::AggregateLocked(absl::string_view type) const {
  KpiView out;
  out.kind = type.empty() ? KpiScopeKind::kAll : KpiScopeKind::kType;
  out.name = std::string(type);
  std::vector<const KpiFigures*> members;
  for (const auto& [id, e] : entries_) {
    if (!type.empty() && e.view.strategy_type != type) continue;
    members.push_back(&e.view.figures);
    out.time_ms = std::max(out.time_ms, e.view.time_ms);
  }
  out.figures = SumKpis(members);
  return out;
}

std::vector<KpiView> ClusterKpis::Strategies() const {
  std::vector<KpiView> out;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, e] : entries_) out.push_back(e.view);
  return out;
}

absl::StatusOr<Portfolio::KpiReport> ClusterKpis::Report(absl::string_view strategy_id,
                                                         absl::string_view strategy_type) const {
  XCTL_RETURN_IF_ERROR(CheckKpiScope(strategy_id, strategy_type));
  Portfolio::KpiReport report;
  if (!strategy_id.empty()) {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(strategy_id);
    if (it == entries_.end()) {
      return absl::NotFoundError(absl::StrCat("no KPIs of strategy ", LogQuote(strategy_id),
                                              " were published in the cluster"));
    }
    report.total = it->second.view;
    report.strategies.push_back(report.total);
    return report;
  }
  std::set<std::string> types;
  absl::MutexLock lock(&mu_);  // one consistent table for the whole answer
  for (const auto& [id, e] : entries_) {  // by id
    if (!strategy_type.empty() && e.view.strategy_type != strategy_type) continue;
    report.strategies.push_back(e.view);
    types.insert(e.view.strategy_type);
  }
  if (!strategy_type.empty() && report.strategies.empty()) {
    return absl::NotFoundError(
        absl::StrCat("no strategy of type ", LogQuote(strategy_type), " in the cluster"));
  }
  report.total = AggregateLocked(strategy_type);
  if (!strategy_type.empty()) {
    report.types.push_back(report.total);
  } else {
    for (const std::string& type : types) report.types.push_back(AggregateLocked(type));
  }
  return report;
}

std::optional<int64_t> ClusterKpis::EpochOf(absl::string_view strategy_id) const {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(strategy_id);
  if (it == entries_.end()) return std::nullopt;
  return it->second.epoch;
}

}  // namespace xctl::cluster
