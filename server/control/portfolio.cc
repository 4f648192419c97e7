// Portfolio: registration and history, open rows, aggregates and Apply.
// Marking and views are in portfolio_marks.cc, lists and KPI reports in
// portfolio_lists.cc, CheckIntegrity in portfolio_integrity.cc, funding and
// the unexplained in money_kpis.cc.
#include "server/control/portfolio.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "server/common/error_reason.h"
#include "server/common/status_macros.h"
#include "server/model/ledger.h"

namespace xctl {
namespace {

ClosedTrade TradeOf(const Position& row) {
  return ClosedTrade{.pnl = row.pnl.value_or(Decimal()),
                     .fees = row.fees,
                     .open_time_ms = row.open_time_ms,
                     .close_time_ms = row.close_time_ms.value_or(row.open_time_ms)};
}

}  // namespace

Portfolio::Portfolio(const Deps& deps) : deps_(deps) {}

absl::Status Portfolio::Register(const StrategyInfo& info, bool reload) {
  absl::MutexLock lock(&mu_);
  auto& slot = entries_[info.id];
  const bool fresh = slot == nullptr;
  if (fresh) slot = std::make_unique<Entry>();
  Entry& e = *slot;
  const bool history_changed =
      fresh || e.info.starting_balance != info.starting_balance || e.info.type != info.type;
  e.info = info;
  if (history_changed || reload) {
    XCTL_RETURN_IF_ERROR(LoadHistoryLocked(e));  // the aggregates follow lazily
  }
  return absl::OkStatus();
}

void Portfolio::Remove(absl::string_view strategy_id) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(strategy_id);
  if (it == entries_.end()) return;
  aggregates_stale_ = true;
  EraseAllOpenRowsLocked(*it->second);
  entries_.erase(it);
}

absl::Status Portfolio::Reload(absl::string_view strategy_id) {
  std::vector<PositionView> positions;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(strategy_id);
    if (it == entries_.end()) return absl::OkStatus();
    XCTL_RETURN_IF_ERROR(LoadHistoryLocked(*it->second));
    for (const auto& [id, open] : it->second->open) positions.push_back(OpenViewLocked(open));
  }
  feed_.PublishPositions(positions);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Position>> Portfolio::OpenRows(absl::string_view strategy_id) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(strategy_id);
  if (it == entries_.end()) return UnknownStrategy(strategy_id);
  std::vector<Position> out;
  for (const auto& [id, open] : it->second->open) out.push_back(open.row);
  std::sort(out.begin(), out.end(),
            [](const Position& a, const Position& b) { return a.id < b.id; });
  return out;
}

absl::StatusOr<bool> Portfolio::HasOpenRows(absl::string_view strategy_id) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(strategy_id);
  if (it == entries_.end()) return UnknownStrategy(strategy_id);
  return !it->second->open.empty();
}

std::optional<Position> Portfolio::OpenRowNotInMode(absl::string_view strategy_id,
                                                    absl::string_view symbol, TradingMode mode) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(strategy_id);
  if (it == entries_.end()) return std::nullopt;
  for (const auto& [id, open] : it->second->open) {
    if ((symbol.empty() || open.row.symbol == symbol) && open.row.mode != mode) return open.row;
  }
  return std::nullopt;
}

Decimal Portfolio::OnBalance(absl::string_view strategy_id, const Account& account, bool live) {
  absl::MutexLock lock(&mu_);
  EnsureAggregatesLocked();
  auto it = entries_.find(strategy_id);
  if (it == entries_.end()) return Decimal();
  if (live) {
    it->second->account_balance = account.balance;
    UpdateUnexplainedLocked(*it->second);
  }
  return it->second->unrealized;
}

const Instrument& Portfolio::InstrumentOf(absl::string_view symbol) const {
  absl::MutexLock lock(&instruments_mu_);
  auto& slot = instrument_cache_[symbol];
  if (!slot) {
    auto spec = deps_.instruments->Get(symbol);
    slot = std::make_unique<Instrument>(spec.ok() ? *spec : GenericInstrument(symbol));
  }
  return *slot;
}

Portfolio::Contribution Portfolio::ContributionOf(const OpenRow& open,
                                                  const Decimal& mark) const {
  const Position& row = open.row;
  return Contribution{
      .unrealized = ledger::UnrealizedPnl(row, *open.instrument, mark),
      .quantity = Direction(row.side) > 0 ? row.quantity : -row.quantity,
      .notional = ledger::Notional(mark, row.quantity, *open.instrument)};
}

absl::Status Portfolio::LoadHistoryLocked(Entry& e) {
  std::vector<Position> open, closed;
  XCTL_RETURN_IF_ERROR(deps_.store->Read([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(open, tx.positions().ListOpen(e.info.id));
    Page page{.limit = 1000};
    while (true) {
      XCTL_ASSIGN_OR_RETURN(
          std::vector<Position> batch,
          tx.positions().List({.strategy_id = e.info.id, .status = PositionStatus::kClosed},
                              page));
      if (batch.empty()) break;
      page.before_id = batch.back().id;
      closed.insert(closed.end(), batch.begin(), batch.end());
      if (static_cast<int>(batch.size()) < page.limit) break;
    }
    return absl::OkStatus();
  }));
  std::sort(closed.begin(), closed.end(), [](const Position& a, const Position& b) {
    return a.close_time_ms.value_or(0) < b.close_time_ms.value_or(0);
  });
  // The aggregates are rebuilt from the entries once this entry is loaded.
  aggregates_stale_ = true;
  EraseAllOpenRowsLocked(e);
  e.kpis = KpiAccumulator(e.info.starting_balance);
  e.trades.clear();
  e.closed_ids.clear();
  e.realized = Decimal();
  for (const Position& row : closed) {
    e.trades.push_back(TradeOf(row));
    e.closed_ids.insert(row.id);
    e.kpis.AddClosedTrade(e.trades.back());
    e.realized += e.trades.back().pnl;
  }
  e.open_fees = Decimal();
  e.unrealized = Decimal();
  for (const Position& row : open) {
    PutOpenRowLocked(e, row);
    e.open_fees += row.fees;
  }
  e.kpis.AddOpenFees(e.open_fees);
  XCTL_RETURN_IF_ERROR(LoadMoneyLocked(e));
  MarkEntryLocked(e, deps_.clock->NowMillis(), nullptr);
  return absl::OkStatus();
}

void Portfolio::EnsureAggregatesLocked() {
  if (!aggregates_stale_) return;
  types_.clear();
  all_ = Aggregate();
  std::vector<std::pair<Aggregate*, const ClosedTrade*>> trades;
  for (const auto& [id, e] : entries_) {
    Aggregate& type = types_[e->info.type];
    e->type_aggregate = &type;
    type.kpis.AddStartingBalance(e->info.starting_balance);
    all_.kpis.AddStartingBalance(e->info.starting_balance);
    for (const ClosedTrade& t : e->trades) trades.push_back({&type, &t});
  }
  // In close-time order, so the aggregate equity curves are in time order.
  std::stable_sort(trades.begin(), trades.end(), [](const auto& a, const auto& b) {
    return a.second->close_time_ms < b.second->close_time_ms;
  });
  for (const auto& [type, t] : trades) {
    type->kpis.AddClosedTrade(*t);
    all_.kpis.AddClosedTrade(*t);
  }
  const int64_t now = deps_.clock->NowMillis();
  for (const auto& [id, e] : entries_) {
    for (Aggregate* agg : {e->type_aggregate, &all_}) {
      // Funding enters the rebuilt curve as one point per member, now.
      if (!e->funding.is_zero()) agg->kpis.AddFunding(now, e->funding);
      agg->kpis.AddLiquidations(e->liquidations);
      agg->unexplained += e->unexplained;
      agg->kpis.SetUnexplained(agg->unexplained);
      agg->kpis.AddOpenFees(e->open_fees);
      agg->unrealized += e->unrealized;
      agg->open_positions += static_cast<int64_t>(e->open.size());
      for (const auto& [row_id, open] : e->open) {
        ExposureSum& x = agg->exposure[open.row.symbol];
        x.quantity += open.contribution.quantity;
        x.notional += open.contribution.notional;
        ++x.rows;
      }
    }
  }
  aggregates_stale_ = false;
  for (auto& [name, type] : types_) type.kpis.Mark(now, type.unrealized, type.open_positions);
  all_.kpis.Mark(now, all_.unrealized, all_.open_positions);
}

void Portfolio::AddDeltaLocked(Entry& e, const std::string& symbol,
                               const Contribution& before, const Contribution& after, int rows) {
  const Decimal unrealized = after.unrealized - before.unrealized;
  e.unrealized += unrealized;
  if (aggregates_stale_) return;  // rebuilt from the entries before use
  for (Aggregate* agg : {e.type_aggregate, &all_}) {
    agg->unrealized += unrealized;
    agg->open_positions += rows;
    ExposureSum& x = agg->exposure[symbol];
    x.quantity += after.quantity - before.quantity;
    x.notional += after.notional - before.notional;
    x.rows += rows;
    if (x.rows == 0) agg->exposure.erase(symbol);
  }
}

void Portfolio::PutOpenRowLocked(Entry& e, const Position& row) {
  auto [it, fresh] = e.open.try_emplace(row.id);
  OpenRow& open = it->second;
  const Contribution before = open.contribution;
  if (fresh) {
    open.entry = &e;
    open.instrument = &InstrumentOf(row.symbol);
    holders_[row.symbol].insert(&open);
    open_by_id_[row.id] = &open;
  }
  open.row = row;
  open.contribution = ContributionOf(open, MarkOf(row.symbol, row));
  AddDeltaLocked(e, row.symbol, before, open.contribution, fresh ? 1 : 0);
}

void Portfolio::EraseOpenRowLocked(Entry& e, int64_t row_id) {
  auto it = e.open.find(row_id);
  if (it == e.open.end()) return;
  OpenRow& open = it->second;
  AddDeltaLocked(e, open.row.symbol, open.contribution, Contribution{}, -1);
  auto holders = holders_.find(open.row.symbol);
  if (holders != holders_.end()) {
    holders->second.erase(&open);
    if (holders->second.empty()) holders_.erase(holders);
  }
  open_by_id_.erase(row_id);
  e.open.erase(it);
}

void Portfolio::EraseAllOpenRowsLocked(Entry& e) {
  std::vector<int64_t> rows;
  for (const auto& [id, open] : e.open) rows.push_back(id);
  for (int64_t id : rows) EraseOpenRowLocked(e, id);
}

void Portfolio::Apply(absl::string_view strategy_id, const OrderResult& result) {
  if (result.closed_positions.empty() && result.open_positions.empty() &&
      result.funding.empty() && !result.account) {
    return;
  }
  std::vector<PositionView> positions;
  std::vector<KpiView> kpis;
  {
    absl::MutexLock lock(&mu_);
    EnsureAggregatesLocked();
    auto it = entries_.find(strategy_id);
    if (it == entries_.end()) return;
    Entry& e = *it->second;
    for (const Position& row : result.closed_positions) {
      EraseOpenRowLocked(e, row.id);
      if (row.status != PositionStatus::kClosed || !e.closed_ids.insert(row.id).second) continue;
      const ClosedTrade trade = TradeOf(row);
      e.trades.push_back(trade);
      e.realized += trade.pnl;
      e.kpis.AddClosedTrade(trade);
      e.type_aggregate->kpis.AddClosedTrade(trade);
      all_.kpis.AddClosedTrade(trade);
      positions.push_back(ViewLocked(e.info.type, row));
    }
    for (const Position& row : result.open_positions) {
      if (e.closed_ids.contains(row.id)) continue;
      PutOpenRowLocked(e, row);
      positions.push_back(OpenViewLocked(e.open.at(row.id)));
    }
    Decimal open_fees;
    for (const auto& [id, open] : e.open) open_fees += open.row.fees;
    const Decimal delta = open_fees - e.open_fees;
    e.open_fees = open_fees;
    for (KpiAccumulator* acc : {&e.kpis, &e.type_aggregate->kpis, &all_.kpis}) {
      acc->AddOpenFees(delta);
    }
    for (const FundingPayment& payment : result.funding) AddFundingLocked(e, payment);
    if (result.liquidation && !result.closed_positions.empty()) AddLiquidationLocked(e);
    // The unexplained difference changes only with a fresh balance: until
    // then a trade moves equity through its records alone.
    if (result.account) {
      e.account_balance = result.account->balance;
      UpdateUnexplainedLocked(e);
    }
    const int64_t now = deps_.clock->NowMillis();
    MarkEntryLocked(e, now, &kpis);
    MarkAggregatesLocked({e.info.type}, now, &kpis);
  }
  feed_.PublishPositions(positions);
  feed_.PublishKpis(kpis);
}


}  // namespace xctl
