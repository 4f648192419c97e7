#include "server/control/exchange_control.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/error_reason.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/model/ledger.h"

namespace xctl {
namespace {

absl::Status CheckClientOrderId(absl::string_view id) {
  if (id.empty()) return absl::OkStatus();
  bool ok = id.size() <= 32;
  for (char c : id) ok = ok && absl::ascii_isalnum(c);
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "client_order_id: 1-32 letters and digits, got ", LogQuote(id)));
  }
  return absl::OkStatus();
}

ClosedTrade TradeOf(const Position& row) {
  return ClosedTrade{.pnl = row.pnl.value_or(Decimal()),
                     .fees = row.fees,
                     .open_time_ms = row.open_time_ms,
                     .close_time_ms = row.close_time_ms.value_or(row.open_time_ms)};
}

TradingMode Other(TradingMode m) {
  return m == TradingMode::kPaper ? TradingMode::kLive : TradingMode::kPaper;
}

}  // namespace

ExchangeControl::ExchangeControl(const Deps& deps) : deps_(deps) {}

ExchangeControl::~ExchangeControl() { Stop(); }

void ExchangeControl::Start(PriceModule* bus) {
  {
    absl::MutexLock lock(&tick_mu_);
    stopping_ = false;
  }
  if (!worker_.joinable()) worker_ = std::thread([this] { WorkerLoop(); });
  if (bus && !subscription_) {
    subscription_ = bus->SubscribeCallback(
        {}, [this](const std::vector<TickPtr>& ticks) { OnTicks(ticks); });
  }
}

void ExchangeControl::Stop() {
  if (subscription_) {
    subscription_->Cancel();
    subscription_.reset();
  }
  {
    absl::MutexLock lock(&tick_mu_);
    stopping_ = true;
  }
  if (worker_.joinable()) worker_.join();
}

void ExchangeControl::OnTicks(const std::vector<TickPtr>& ticks) {
  absl::MutexLock lock(&tick_mu_);
  for (const TickPtr& t : ticks) pending_ticks_[t->pair] = t;
}

void ExchangeControl::ProcessPendingTicks() {
  std::vector<TickPtr> ticks;
  {
    absl::MutexLock lock(&tick_mu_);
    ticks.reserve(pending_ticks_.size());
    for (auto& [pair, tick] : pending_ticks_) ticks.push_back(std::move(tick));
    pending_ticks_.clear();
  }
  if (!ticks.empty()) ProcessTicks(ticks);
}

void ExchangeControl::WorkerLoop() {
  while (true) {
    {
      absl::MutexLock lock(&tick_mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(tick_mu_) {
        return stopping_ || !pending_ticks_.empty();
      };
      tick_mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
    }
    ProcessPendingTicks();
  }
}

const Instrument& ExchangeControl::InstrumentOf(absl::string_view symbol) const {
  absl::MutexLock lock(&instruments_mu_);
  auto& slot = instrument_cache_[symbol];
  if (!slot) {
    auto spec = deps_.instruments->Get(symbol);
    slot = std::make_unique<Instrument>(spec.ok() ? *spec : GenericInstrument(symbol));
  }
  return *slot;
}

Decimal ExchangeControl::MarkOf(const std::string& symbol, const Position& row) const {
  auto it = marks_.find(symbol);
  if (it != marks_.end()) return it->second;
  if (TickPtr t = deps_.prices->Latest(symbol)) return t->last;
  return row.open_price;
}

ExchangeControl::Contribution ExchangeControl::ContributionOf(const OpenRow& open,
                                                              const Decimal& mark) const {
  const Position& row = open.row;
  return Contribution{
      .unrealized = ledger::UnrealizedPnl(row, *open.instrument, mark),
      .quantity = Direction(row.side) > 0 ? row.quantity : -row.quantity,
      .notional = ledger::Notional(mark, row.quantity, *open.instrument)};
}

PositionView ExchangeControl::ViewLocked(const Entry& entry, const Position& row) const {
  PositionView v{.position = row, .strategy_type = entry.info.type};
  if (row.status == PositionStatus::kOpen) {
    Decimal mark = MarkOf(row.symbol, row);
    v.mark_price = mark;
    v.unrealized_pnl = ledger::UnrealizedPnl(row, InstrumentOf(row.symbol), mark);
  }
  return v;
}

PositionView ExchangeControl::OpenViewLocked(const OpenRow& open) const {
  return PositionView{.position = open.row,
                      .strategy_type = open.entry->info.type,
                      .mark_price = MarkOf(open.row.symbol, open.row),
                      .unrealized_pnl = open.contribution.unrealized};
}

KpiView ExchangeControl::StrategyKpisLocked(const Entry& e) const {
  KpiView v{.kind = KpiScopeKind::kStrategy, .name = e.info.id,
            .strategy_type = e.info.type, .figures = e.kpis.Snapshot(),
            .time_ms = deps_.clock->NowMillis()};
  std::map<std::string, ExposureFigure> exposure;
  for (const auto& [id, open] : e.open) {
    ExposureFigure& x = exposure[open.row.symbol];
    x.symbol = open.row.symbol;
    x.quantity += open.contribution.quantity;
    x.notional += open.contribution.notional;
  }
  for (auto& [symbol, x] : exposure) v.figures.open_exposure.push_back(std::move(x));
  return v;
}

KpiView ExchangeControl::TypeKpisLocked(const std::string& type) const {
  KpiView v{.kind = KpiScopeKind::kType, .name = type, .time_ms = deps_.clock->NowMillis()};
  auto it = types_.find(type);
  if (it != types_.end()) {
    v.figures = it->second.kpis.Snapshot();
    for (const auto& [symbol, x] : it->second.exposure) {
      v.figures.open_exposure.push_back(
          ExposureFigure{.symbol = symbol, .quantity = x.quantity, .notional = x.notional});
    }
  }
  return v;
}

KpiView ExchangeControl::AllKpisLocked() const {
  KpiView v{.kind = KpiScopeKind::kAll, .figures = all_.kpis.Snapshot(),
            .time_ms = deps_.clock->NowMillis()};
  for (const auto& [symbol, x] : all_.exposure) {
    v.figures.open_exposure.push_back(
        ExposureFigure{.symbol = symbol, .quantity = x.quantity, .notional = x.notional});
  }
  return v;
}

absl::Status ExchangeControl::LoadHistory(Entry& e) {
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
  std::vector<int64_t> old_rows;
  for (const auto& [id, row] : e.open) old_rows.push_back(id);
  for (int64_t id : old_rows) EraseOpenRowLocked(e, id);
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

void ExchangeControl::EnsureAggregatesLocked() {
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

void ExchangeControl::AddDeltaLocked(Entry& e, const std::string& symbol,
                                     const Contribution& before, const Contribution& after,
                                     int rows) {
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

void ExchangeControl::PutOpenRowLocked(Entry& e, const Position& row) {
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

void ExchangeControl::EraseOpenRowLocked(Entry& e, int64_t row_id) {
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

void ExchangeControl::MarkEntryLocked(Entry& e, int64_t now, std::vector<KpiView>* out) {
  e.kpis.Mark(now, e.unrealized, static_cast<int64_t>(e.open.size()));
  if (out) out->push_back(StrategyKpisLocked(e));
}

void ExchangeControl::MarkAggregatesLocked(const absl::flat_hash_set<std::string>& types,
                                           int64_t now, std::vector<KpiView>* out) {
  for (const std::string& name : types) {
    Aggregate& type = types_[name];
    type.kpis.Mark(now, type.unrealized, type.open_positions);
    if (out) out->push_back(TypeKpisLocked(name));
  }
  all_.kpis.Mark(now, all_.unrealized, all_.open_positions);
  if (out) out->push_back(AllKpisLocked());
}

void ExchangeControl::IndexEntryLocked(Entry& e, bool add) {
  for (const std::string& pair : e.info.pairs) {
    if (add) {
      traders_[pair].insert(&e);
      continue;
    }
    auto it = traders_.find(pair);
    if (it == traders_.end()) continue;
    it->second.erase(&e);
    if (it->second.empty()) traders_.erase(it);
  }
}

absl::Status ExchangeControl::UpsertStrategy(const StrategyInfo& configured) {
  // A live strategy's KPIs start from its account's real balance (the first
  // one read from BloFin), not from the configured paper balance.
  StrategyInfo info = configured;
  std::shared_ptr<Exchange> current, previous;
  bool rebuild_exchange = true;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(info.id);
    if (it != entries_.end()) {
      const StrategyInfo& old = it->second->info;
      if (info.mode() == TradingMode::kLive && old.mode() == TradingMode::kLive) {
        info.starting_balance = old.starting_balance;
      }
      rebuild_exchange = old.credentials != info.credentials || old.leverage != info.leverage ||
                         old.starting_balance != info.starting_balance ||
                         old.taker_fee() != info.taker_fee() ||
                         old.maker_fee() != info.maker_fee();
      current = it->second->exchange;
      previous = it->second->previous;
      if (old.mode() != info.mode()) std::swap(current, previous);
    }
  }
  if (rebuild_exchange) {
    XCTL_ASSIGN_OR_RETURN(std::unique_ptr<Exchange> made,
                          deps_.factory->Make(info, info.mode()));
    if (info.mode() == TradingMode::kLive) {
      // A live strategy starts only once the store agrees with BloFin.
      auto report = made->Reconcile();
      if (!report.ok()) {
        return absl::Status(report.status().code(),
                            absl::StrCat("reconciliation with BloFin failed, strategy ", info.id,
                                         " not started: ", report.status().message()));
      }
      for (const std::string& change : report->changes) {
        spdlog::info("event=reconcile strategy={} change={}", info.id, LogQuote(change));
      }
      XCTL_RETURN_IF_ERROR(deps_.store->Read([&](Tx& tx) -> absl::Status {
        XCTL_ASSIGN_OR_RETURN(std::optional<Account> account, tx.accounts().Get(info.id));
        if (account) info.starting_balance = account->starting_balance;
        return absl::OkStatus();
      }));
    }
    current = std::move(made);
  }
  absl::MutexLock lock(&mu_);
  auto& slot = entries_[info.id];
  const bool fresh = slot == nullptr;
  if (fresh) slot = std::make_unique<Entry>();
  Entry& e = *slot;
  const bool history_changed =
      fresh || e.info.starting_balance != info.starting_balance || e.info.type != info.type;
  IndexEntryLocked(e, false);
  e.info = info;
  IndexEntryLocked(e, true);
  e.exchange = current;
  e.previous = previous;
  if (history_changed || rebuild_exchange) {
    XCTL_RETURN_IF_ERROR(LoadHistory(e));  // the aggregates follow lazily
  }
  // The previous mode's exchange is kept while rows of that mode are open.
  if (e.previous) {
    const TradingMode old_mode = Other(info.mode());
    bool needed = false;
    for (const auto& [id, open] : e.open) needed = needed || open.row.mode == old_mode;
    if (!needed) e.previous.reset();
  }
  spdlog::info("event=strategy_registered strategy={} type={} mode={} running={}", info.id,
               info.type, ToString(info.mode()), info.running);
  return absl::OkStatus();
}

absl::Status ExchangeControl::RemoveStrategy(absl::string_view strategy_id) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(strategy_id);
  if (it == entries_.end()) {
    return UnknownStrategy(strategy_id);
  }
  Entry& e = *it->second;
  aggregates_stale_ = true;
  std::vector<int64_t> rows;
  for (const auto& [id, open] : e.open) rows.push_back(id);
  for (int64_t id : rows) EraseOpenRowLocked(e, id);
  IndexEntryLocked(e, false);
  entries_.erase(it);
  return absl::OkStatus();
}

absl::Status ExchangeControl::SetRunning(absl::string_view strategy_id, bool running) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(strategy_id);
  if (it == entries_.end()) {
    return UnknownStrategy(strategy_id);
  }
  it->second->info.running = running;
  return absl::OkStatus();
}

std::optional<StrategyInfo> ExchangeControl::Info(absl::string_view strategy_id) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(strategy_id);
  if (it == entries_.end()) return std::nullopt;
  return it->second->info;
}

absl::StatusOr<std::shared_ptr<Exchange>> ExchangeControl::ExchangeFor(
    absl::string_view strategy_id, absl::string_view symbol) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(strategy_id);
  if (it == entries_.end()) {
    return UnknownStrategy(strategy_id);
  }
  const Entry& e = *it->second;
  if (!e.info.running) {
    return StrategyStopped(strategy_id);
  }
  for (const auto& [id, open] : e.open) {
    if (open.row.symbol != symbol) continue;
    if (open.row.mode == e.info.mode()) return e.exchange;
    if (e.previous) return e.previous;
  }
  return e.exchange;
}

absl::StatusOr<OrderResult> ExchangeControl::PlaceOrder(const OrderRequest& request) {
  XCTL_RETURN_IF_ERROR(CheckClientOrderId(request.client_order_id));
  XCTL_RETURN_IF_ERROR(CheckGate(request.strategy_id));
  std::shared_ptr<Exchange> exchange;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(request.strategy_id);
    if (it == entries_.end()) {
      return UnknownStrategy(request.strategy_id);
    }
    const Entry& e = *it->second;
    if (!e.info.running) {
      return StrategyStopped(request.strategy_id);
    }
    if (std::find(e.info.pairs.begin(), e.info.pairs.end(), request.symbol) ==
        e.info.pairs.end()) {
      return WithReason(absl::InvalidArgumentError(absl::StrCat(
                            "symbol: ", LogQuote(request.symbol), " is not one of strategy ",
                            request.strategy_id, "'s pairs (", absl::StrJoin(e.info.pairs, ", "),
                            ")")),
                        reason::kSymbolNotTraded);
    }
    for (const auto& [id, open] : e.open) {
      const Position& row = open.row;
      if (row.symbol == request.symbol && row.mode != e.info.mode()) {
        return absl::FailedPreconditionError(absl::StrCat(
            request.symbol, " has an open ", ToString(row.mode), " position (#", row.id,
            ") from before strategy ", request.strategy_id, " switched to ",
            ToString(e.info.mode()), "; close it first with ClosePosition"));
      }
    }
    exchange = e.exchange;
  }
  XCTL_ASSIGN_OR_RETURN(OrderResult result, exchange->PlaceOrder(request));
  Apply(request.strategy_id, result);
  return result;
}

absl::StatusOr<OrderResult> ExchangeControl::ClosePosition(absl::string_view strategy_id,
                                                           const CloseRequest& request) {
  XCTL_RETURN_IF_ERROR(CheckClientOrderId(request.client_order_id));
  XCTL_RETURN_IF_ERROR(CheckGate(strategy_id));
  if (request.quantity && !request.quantity->is_positive()) {
    return absl::InvalidArgumentError("quantity: must be greater than 0 (or unset to close all)");
  }
  XCTL_ASSIGN_OR_RETURN(std::shared_ptr<Exchange> exchange,
                        ExchangeFor(strategy_id, request.symbol));
  XCTL_ASSIGN_OR_RETURN(OrderResult result, exchange->ClosePosition(request));
  Apply(std::string(strategy_id), result);
  return result;
}

absl::StatusOr<Order> ExchangeControl::CancelOrder(absl::string_view strategy_id,
                                                   const CancelRequest& request) {
  XCTL_RETURN_IF_ERROR(CheckGate(strategy_id));
  std::shared_ptr<Exchange> current, previous;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(strategy_id);
    if (it == entries_.end()) {
      return UnknownStrategy(strategy_id);
    }
    current = it->second->exchange;
    previous = it->second->previous;
  }
  auto cancelled = current->CancelOrder(request);
  if (cancelled.status().code() == absl::StatusCode::kNotFound && previous) {
    return previous->CancelOrder(request);
  }
  return cancelled;
}

absl::StatusOr<std::vector<Position>> ExchangeControl::OpenPositions(
    absl::string_view strategy_id) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(strategy_id);
  if (it == entries_.end()) {
    return UnknownStrategy(strategy_id);
  }
  std::vector<Position> out;
  for (const auto& [id, open] : it->second->open) out.push_back(open.row);
  std::sort(out.begin(), out.end(),
            [](const Position& a, const Position& b) { return a.id < b.id; });
  return out;
}

absl::StatusOr<bool> ExchangeControl::HasOpenExposure(absl::string_view strategy_id) {
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(strategy_id);
    if (it == entries_.end()) {
      return UnknownStrategy(strategy_id);
    }
    if (!it->second->open.empty()) return true;
  }
  bool resting = false;
  XCTL_RETURN_IF_ERROR(deps_.store->Read([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(std::vector<Order> orders,
                          tx.orders().ListResting(std::string(strategy_id)));
    resting = !orders.empty();
    return absl::OkStatus();
  }));
  return resting;
}

void ExchangeControl::Apply(const std::string& strategy_id, const OrderResult& result) {
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
      positions.push_back(ViewLocked(e, row));
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

void ExchangeControl::ProcessTicks(const std::vector<TickPtr>& ticks) {
  // 1. Let the exchanges of the strategies trading these pairs act on them.
  struct Due {
    std::string strategy_id;
    std::shared_ptr<Exchange> exchange;
    const Tick* tick;
  };
  std::vector<Due> due;
  {
    absl::MutexLock lock(&mu_);
    for (const TickPtr& t : ticks) {
      auto it = traders_.find(t->pair);
      if (it == traders_.end()) continue;
      for (Entry* e : it->second) {
        if (e->exchange->NeedsTicks()) due.push_back({e->info.id, e->exchange, t.get()});
        if (e->previous && e->previous->NeedsTicks()) {
          due.push_back({e->info.id, e->previous, t.get()});
        }
      }
    }
  }
  for (const Due& d : due) {
    for (const OrderResult& r : d.exchange->OnTick(*d.tick)) Apply(d.strategy_id, r);
  }
  // 2. Mark the open rows of these pairs: every row once, then every touched
  // strategy and aggregate once. Views only for a feed with subscribers.
  const bool publish = feed_.subscriber_count() > 0;
  std::vector<PositionView> positions;
  std::vector<KpiView> kpis;
  {
    absl::MutexLock lock(&mu_);
    EnsureAggregatesLocked();
    absl::flat_hash_set<Entry*> touched;
    absl::flat_hash_map<Aggregate*, Contribution> type_deltas;
    for (const TickPtr& t : ticks) {
      if (t->stale) continue;
      marks_[t->pair] = t->last;
      auto holders = holders_.find(t->pair);
      if (holders == holders_.end()) continue;
      Contribution all_delta;
      type_deltas.clear();
      touched.reserve(touched.size() + holders->second.size());
      for (OpenRow* open : holders->second) {
        const Contribution after = ContributionOf(*open, t->last);
        Contribution delta{.unrealized = after.unrealized - open->contribution.unrealized,
                           .quantity = after.quantity - open->contribution.quantity,
                           .notional = after.notional - open->contribution.notional};
        open->contribution = after;
        Entry& e = *open->entry;
        e.unrealized += delta.unrealized;
        Contribution& type_delta = type_deltas[e.type_aggregate];
        for (Contribution* sum : {&type_delta, &all_delta}) {
          sum->unrealized += delta.unrealized;
          sum->quantity += delta.quantity;
          sum->notional += delta.notional;
        }
        touched.insert(&e);
        if (publish) positions.push_back(OpenViewLocked(*open));
      }
      type_deltas[&all_] = all_delta;
      for (auto& [agg, delta] : type_deltas) {
        agg->unrealized += delta.unrealized;
        ExposureSum& x = agg->exposure[t->pair];
        x.quantity += delta.quantity;
        x.notional += delta.notional;
      }
    }
    if (!touched.empty()) {
      const int64_t now = deps_.clock->NowMillis();
      absl::flat_hash_set<std::string> types;
      for (Entry* e : touched) {
        MarkEntryLocked(*e, now, publish ? &kpis : nullptr);
        types.insert(e->info.type);
      }
      MarkAggregatesLocked(types, now, publish ? &kpis : nullptr);
    }
  }
  if (publish) {
    feed_.PublishPositions(positions);
    feed_.PublishKpis(kpis);
  }
}

std::vector<PositionView> ExchangeControl::ListOpenLocked(const Query& q) const {
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

absl::StatusOr<std::vector<PositionView>> ExchangeControl::ListPositions(const Query& q) {
  if (q.position_status == PositionStatus::kOpen) {
    // Every open row of a registered strategy is in memory with its mark.
    absl::MutexLock lock(&mu_);
    return ListOpenLocked(q);
  }
  PositionFilter filter{.strategy_id = q.strategy_id, .symbol = q.symbol,
                        .status = q.position_status};
  if (!q.strategy_type.empty()) {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, e] : entries_) {
      if (e->info.type == q.strategy_type) filter.strategy_ids.push_back(id);
    }
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
    PositionView v{.position = std::move(row)};
    if (entry != entries_.end()) v.strategy_type = entry->second->info.type;
    const Position& p = v.position;
    if (p.status == PositionStatus::kOpen) {
      const Decimal mark = MarkOf(p.symbol, p);
      v.mark_price = mark;
      v.unrealized_pnl = ledger::UnrealizedPnl(p, InstrumentOf(p.symbol), mark);
    }
    out.push_back(std::move(v));
  }
  return out;
}

absl::StatusOr<std::vector<Order>> ExchangeControl::ListOrders(const Query& q) {
  OrderFilter filter{.strategy_id = q.strategy_id, .symbol = q.symbol, .status = q.order_status};
  if (!q.strategy_type.empty()) {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, e] : entries_) {
      if (e->info.type == q.strategy_type) filter.strategy_ids.push_back(id);
    }
    if (filter.strategy_ids.empty()) return std::vector<Order>{};
  }
  std::vector<Order> rows;
  XCTL_RETURN_IF_ERROR(deps_.store->Read([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(rows, tx.orders().List(filter, q.page));
    return absl::OkStatus();
  }));
  return rows;
}

absl::StatusOr<ExchangeControl::BalanceView> ExchangeControl::GetBalance(
    absl::string_view strategy_id) {
  std::shared_ptr<Exchange> exchange;
  TradingMode mode = TradingMode::kPaper;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(strategy_id);
    if (it != entries_.end()) {
      exchange = it->second->exchange;
      mode = it->second->info.mode();
    }
  }
  if (!exchange) {
    // Cluster mode: a strategy owned by another instance is answered with
    // its owner (the gate's UNAVAILABLE), not as unknown.
    XCTL_RETURN_IF_ERROR(CheckGate(strategy_id));
    return UnknownStrategy(strategy_id);
  }
  XCTL_ASSIGN_OR_RETURN(Account account, exchange->Balance());
  BalanceView v{.account = account, .mode = mode};
  {
    absl::MutexLock lock(&mu_);
    EnsureAggregatesLocked();
    auto it = entries_.find(strategy_id);
    if (it != entries_.end()) {
      v.unrealized_pnl = it->second->unrealized;
      if (mode == TradingMode::kLive && exchange->mode() == TradingMode::kLive) {
        it->second->account_balance = account.balance;
        UpdateUnexplainedLocked(*it->second);
      }
    }
  }
  v.equity = account.balance + v.unrealized_pnl;
  v.available = v.equity - account.margin_used;
  return v;
}

absl::StatusOr<ExchangeControl::KpiReport> ExchangeControl::GetKpis(
    absl::string_view strategy_id, absl::string_view strategy_type) {
  if (!strategy_id.empty() && !strategy_type.empty()) {
    return absl::InvalidArgumentError("set at most one of strategy_id and strategy_type");
  }
  if (!strategy_id.empty() && trade_gate_ && !Info(strategy_id)) {
    // Cluster mode: a strategy's KPIs live on its owner; name it.
    XCTL_RETURN_IF_ERROR(CheckGate(strategy_id));
  }
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

absl::StatusOr<ReconcileReport> ExchangeControl::Reconcile(absl::string_view strategy_id) {
  std::shared_ptr<Exchange> exchange;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(strategy_id);
    if (it == entries_.end()) {
      return UnknownStrategy(strategy_id);
    }
    exchange = it->second->exchange;
  }
  XCTL_ASSIGN_OR_RETURN(ReconcileReport report, exchange->Reconcile());
  for (const std::string& change : report.changes) {
    spdlog::info("event=reconcile strategy={} change={}", strategy_id, LogQuote(change));
  }
  std::vector<PositionView> positions;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(strategy_id);
    if (it != entries_.end()) {
      XCTL_RETURN_IF_ERROR(LoadHistory(*it->second));
      for (const auto& [id, open] : it->second->open) positions.push_back(OpenViewLocked(open));
    }
  }
  feed_.PublishPositions(positions);
  return report;
}

std::vector<PositionView> ExchangeControl::OpenPositionViews(const FeedFilter& filter) {
  std::vector<PositionView> out;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, open] : open_by_id_) {  // by id
    PositionView v = OpenViewLocked(*open);
    if (filter.Matches(v)) out.push_back(std::move(v));
  }
  return out;
}

std::vector<KpiView> ExchangeControl::KpiViews(const FeedFilter& filter) {
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
