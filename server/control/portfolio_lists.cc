// Portfolio: lists (open rows from memory, the rest from the store), KPI
// reports and the snapshots a stream starts with.
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/common/error_reason.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/control/portfolio.h"

namespace xctl {

absl::Status CheckKpiScope(absl::string_view strategy_id, absl::string_view strategy_type) {
  if (!strategy_id.empty() && !strategy_type.empty()) {
    return absl::InvalidArgumentError("set at most one of strategy_id and strategy_type");
  }
  return absl::OkStatus();
}

std::vector<PositionView> Portfolio::ListOpenLocked(const Query& q) const {
  std::vector<PositionView> out;
  const int limit = q.page.limit > 0 ? q.page.limit : 100;
  auto end = q.page.before_id > 0 ? open_by_id_.lower_bound(q.page.before_id)
                                  : open_by_id_.end();
  for (auto it = std::make_reverse_iterator(end); it != open_by_id_.rend(); ++it) {
    const OpenRow& open = *it->second;
    const Entry& e = *open.entry;
    if (!q.strategy_id.empty() && e.info.id != q.strategy_id) continue;
    if (!q.strategy_type.empty() && e.info.type != q.strategy_type) continue;
    if (!q.symbol.empty() && open.row.symbol != q.symbol) continue;
    out.push_back(OpenViewLocked(open));
    if (static_cast<int>(out.size()) == limit) break;
  }
  return out;
}

std::vector<std::string> Portfolio::IdsOfType(absl::string_view type) {
  std::vector<std::string> ids;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, e] : entries_) {
    if (e->info.type == type) ids.push_back(id);
  }
  return ids;
}

absl::StatusOr<std::vector<PositionView>> Portfolio::ListPositions(const Query& q) {
  if (q.position_status == PositionStatus::kOpen) {
    // Every open row of a registered strategy is in memory with its mark.
    absl::MutexLock lock(&mu_);
    return ListOpenLocked(q);
  }
  PositionFilter filter{.strategy_id = q.strategy_id, .symbol = q.symbol,
                        .status = q.position_status};
  if (!q.strategy_type.empty()) {
    filter.strategy_ids = IdsOfType(q.strategy_type);
    if (filter.strategy_ids.empty()) return std::vector<PositionView>{};
  }
  std::vector<Position> rows;
  XCTL_RETURN_IF_ERROR(deps_.store->Read([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(rows, tx.positions().List(filter, q.page));
    return absl::OkStatus();
  }));
  std::vector<PositionView> out;
  out.reserve(rows.size());
  absl::MutexLock lock(&mu_);
  for (Position& row : rows) {
    auto entry = entries_.find(row.strategy_id);
    out.push_back(ViewLocked(entry != entries_.end() ? entry->second->info.type : std::string(),
                             std::move(row)));
  }
  return out;
}

absl::StatusOr<std::vector<Order>> Portfolio::ListOrders(const Query& q) {
  OrderFilter filter{.strategy_id = q.strategy_id, .symbol = q.symbol, .status = q.order_status};
  if (!q.strategy_type.empty()) {
    filter.strategy_ids = IdsOfType(q.strategy_type);
    if (filter.strategy_ids.empty()) return std::vector<Order>{};
  }
  std::vector<Order> rows;
  XCTL_RETURN_IF_ERROR(deps_.store->Read([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(rows, tx.orders().List(filter, q.page));
    return absl::OkStatus();
  }));
  return rows;
}

absl::StatusOr<Portfolio::KpiReport> Portfolio::GetKpis(absl::string_view strategy_id,
                                                        absl::string_view strategy_type) {
  XCTL_RETURN_IF_ERROR(CheckKpiScope(strategy_id, strategy_type));
  absl::MutexLock lock(&mu_);
  EnsureAggregatesLocked();
  KpiReport report;
  if (!strategy_id.empty()) {
    auto it = entries_.find(strategy_id);
    if (it == entries_.end()) {
      return UnknownStrategy(strategy_id);
    }
    report.total = StrategyKpisLocked(*it->second);
    report.strategies.push_back(report.total);
    return report;
  }
  if (!strategy_type.empty()) {
    if (!types_.contains(strategy_type)) {
      return absl::NotFoundError(
          absl::StrCat("no strategy of type ", LogQuote(strategy_type)));
    }
    report.total = TypeKpisLocked(std::string(strategy_type));
    report.types.push_back(report.total);
  } else {
    report.total = AllKpisLocked();
    for (const auto& [type, acc] : types_) report.types.push_back(TypeKpisLocked(type));
  }
  for (const auto& [id, e] : entries_) {
    if (strategy_type.empty() || e->info.type == strategy_type) {
      report.strategies.push_back(StrategyKpisLocked(*e));
    }
  }
  auto by_name = [](const KpiView& a, const KpiView& b) { return a.name < b.name; };
  std::sort(report.strategies.begin(), report.strategies.end(), by_name);
  std::sort(report.types.begin(), report.types.end(), by_name);
  return report;
}

std::vector<PositionView> Portfolio::OpenPositionViews(const FeedFilter& filter) {
  std::vector<PositionView> out;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, open] : open_by_id_) {  // by id
    PositionView v = OpenViewLocked(*open);
    if (filter.Matches(v)) out.push_back(std::move(v));
  }
  return out;
}

std::vector<KpiView> Portfolio::KpiViews(const FeedFilter& filter) {
  std::vector<KpiView> all;
  {
    absl::MutexLock lock(&mu_);
    EnsureAggregatesLocked();
    all.push_back(AllKpisLocked());
    for (const auto& [type, acc] : types_) all.push_back(TypeKpisLocked(type));
    for (const auto& [id, e] : entries_) all.push_back(StrategyKpisLocked(*e));
  }
  std::vector<KpiView> out;
  for (KpiView& v : all) {
    if (filter.Matches(v)) out.push_back(std::move(v));
  }
  return out;
}

}  // namespace xctl
