#include "server/control/exchange_control.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/exchange/paper/ledger.h"

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
  absl::flat_hash_map<std::string, TickPtr> ticks;
  {
    absl::MutexLock lock(&tick_mu_);
    ticks.swap(pending_ticks_);
  }
  for (const auto& [pair, tick] : ticks) ProcessTick(tick);
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

PositionView ExchangeControl::ViewLocked(const Entry& entry, const Position& row) const {
  PositionView v{.position = row, .strategy_type = entry.info.type};
  if (row.status == PositionStatus::kOpen) {
    Decimal mark = MarkOf(row.symbol, row);
    v.mark_price = mark;
    v.unrealized_pnl = paper::UnrealizedPnl(row, InstrumentOf(row.symbol), mark);
  }
  return v;
}

KpiView ExchangeControl::StrategyKpisLocked(const Entry& e) const {
  return KpiView{.kind = KpiScopeKind::kStrategy, .name = e.info.id,
                 .strategy_type = e.info.type, .figures = e.kpis.Snapshot(),
                 .time_ms = deps_.clock->NowMillis()};
}

KpiView ExchangeControl::TypeKpisLocked(const std::string& type) const {
  auto it = type_kpis_.find(type);
  return KpiView{.kind = KpiScopeKind::kType, .name = type,
                 .figures = it == type_kpis_.end() ? KpiFigures{} : it->second.Snapshot(),
                 .time_ms = deps_.clock->NowMillis()};
}

KpiView ExchangeControl::AllKpisLocked() const {
  return KpiView{.kind = KpiScopeKind::kAll, .figures = all_kpis_.Snapshot(),
                 .time_ms = deps_.clock->NowMillis()};
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
  e.kpis = KpiAccumulator(e.info.starting_balance);
  e.trades.clear();
  e.closed_ids.clear();
  for (const Position& row : closed) {
    e.trades.push_back(TradeOf(row));
    e.closed_ids.insert(row.id);
    e.kpis.AddClosedTrade(e.trades.back());
  }
  e.open.clear();
  e.open_fees = Decimal();
  for (const Position& row : open) {
    e.open[row.id] = row;
    e.open_fees += row.fees;
  }
  e.kpis.AddOpenFees(e.open_fees);
  return absl::OkStatus();
}

void ExchangeControl::RebuildAggregates() {
  type_kpis_.clear();
  all_kpis_ = KpiAccumulator();
  std::vector<std::pair<const Entry*, const ClosedTrade*>> trades;
  for (const auto& [id, e] : entries_) {
    type_kpis_[e->info.type].AddStartingBalance(e->info.starting_balance);
    all_kpis_.AddStartingBalance(e->info.starting_balance);
    for (const ClosedTrade& t : e->trades) trades.push_back({e.get(), &t});
  }
  // In close-time order, so the aggregate equity curves are in time order.
  std::sort(trades.begin(), trades.end(), [](const auto& a, const auto& b) {
    return a.second->close_time_ms < b.second->close_time_ms;
  });
  for (const auto& [e, t] : trades) {
    type_kpis_[e->info.type].AddClosedTrade(*t);
    all_kpis_.AddClosedTrade(*t);
  }
  for (const auto& [id, e] : entries_) {
    type_kpis_[e->info.type].AddOpenFees(e->open_fees);
    all_kpis_.AddOpenFees(e->open_fees);
  }
  const int64_t now = deps_.clock->NowMillis();
  absl::flat_hash_set<std::string> types;
  for (auto& [id, e] : entries_) {
    MarkLocked(*e, now, nullptr);
    types.insert(e->info.type);
  }
  MarkAggregatesLocked(types, now, nullptr);
}

void ExchangeControl::MarkLocked(Entry& e, int64_t now, std::vector<KpiView>* out) {
  Decimal unrealized;
  std::map<std::string, ExposureFigure> exposure;
  for (const auto& [id, row] : e.open) {
    const Instrument& inst = InstrumentOf(row.symbol);
    const Decimal mark = MarkOf(row.symbol, row);
    unrealized += paper::UnrealizedPnl(row, inst, mark);
    ExposureFigure& x = exposure[row.symbol];
    x.symbol = row.symbol;
    x.quantity += Direction(row.side) > 0 ? row.quantity : -row.quantity;
    x.notional += paper::Notional(mark, row.quantity, inst);
  }
  std::vector<ExposureFigure> list;
  for (auto& [symbol, x] : exposure) list.push_back(std::move(x));
  e.unrealized = unrealized;
  e.exposure = list;
  e.kpis.Mark(now, unrealized, std::move(list), static_cast<int64_t>(e.open.size()));
  if (out) out->push_back(StrategyKpisLocked(e));
}

void ExchangeControl::MarkAggregateLocked(KpiAccumulator& acc, absl::string_view type,
                                          int64_t now) {
  Decimal unrealized;
  int64_t count = 0;
  std::map<std::string, ExposureFigure> exposure;
  for (const auto& [id, e] : entries_) {
    if (!type.empty() && e->info.type != type) continue;
    unrealized += e->unrealized;
    count += static_cast<int64_t>(e->open.size());
    for (const ExposureFigure& x : e->exposure) {
      ExposureFigure& sum = exposure[x.symbol];
      sum.symbol = x.symbol;
      sum.quantity += x.quantity;
      sum.notional += x.notional;
    }
  }
  std::vector<ExposureFigure> list;
  for (auto& [symbol, x] : exposure) list.push_back(std::move(x));
  acc.Mark(now, unrealized, std::move(list), count);
}

void ExchangeControl::MarkAggregatesLocked(const absl::flat_hash_set<std::string>& types,
                                           int64_t now, std::vector<KpiView>* out) {
  for (const std::string& type : types) {
    MarkAggregateLocked(type_kpis_[type], type, now);
    if (out) out->push_back(TypeKpisLocked(type));
  }
  MarkAggregateLocked(all_kpis_, "", now);
  if (out) out->push_back(AllKpisLocked());
}

absl::Status ExchangeControl::UpsertStrategy(const StrategyInfo& info) {
  std::shared_ptr<Exchange> current, previous;
  bool rebuild_exchange = true;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(info.id);
    if (it != entries_.end()) {
      const StrategyInfo& old = it->second->info;
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
  e.info = info;
  e.exchange = current;
  e.previous = previous;
  if (history_changed || rebuild_exchange) {
    XCTL_RETURN_IF_ERROR(LoadHistory(e));
  }
  // The previous mode's exchange is kept while rows of that mode are open.
  if (e.previous) {
    const TradingMode old_mode = Other(info.mode());
    bool needed = false;
    for (const auto& [id, row] : e.open) needed = needed || row.mode == old_mode;
    if (!needed) e.previous.reset();
  }
  RebuildAggregates();
  spdlog::info("event=strategy_registered strategy={} type={} mode={} running={}", info.id,
               info.type, ToString(info.mode()), info.running);
  return absl::OkStatus();
}

absl::Status ExchangeControl::RemoveStrategy(absl::string_view strategy_id) {
  absl::MutexLock lock(&mu_);
  if (entries_.erase(strategy_id) == 0) {
    return absl::NotFoundError(absl::StrCat("unknown strategy ", LogQuote(strategy_id)));
  }
  RebuildAggregates();
  return absl::OkStatus();
}

absl::Status ExchangeControl::SetRunning(absl::string_view strategy_id, bool running) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(strategy_id);
  if (it == entries_.end()) {
    return absl::NotFoundError(absl::StrCat("unknown strategy ", LogQuote(strategy_id)));
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
    return absl::NotFoundError(absl::StrCat("unknown strategy ", LogQuote(strategy_id)));
  }
  const Entry& e = *it->second;
  if (!e.info.running) {
    return absl::FailedPreconditionError(
        absl::StrCat("strategy ", strategy_id, " is stopped; start it to trade"));
  }
  for (const auto& [id, row] : e.open) {
    if (row.symbol != symbol) continue;
    if (row.mode == e.info.mode()) return e.exchange;
    if (e.previous) return e.previous;
  }
  return e.exchange;
}

absl::StatusOr<OrderResult> ExchangeControl::PlaceOrder(const OrderRequest& request) {
  XCTL_RETURN_IF_ERROR(CheckClientOrderId(request.client_order_id));
  std::shared_ptr<Exchange> exchange;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(request.strategy_id);
    if (it == entries_.end()) {
      return absl::NotFoundError(
          absl::StrCat("unknown strategy ", LogQuote(request.strategy_id)));
    }
    const Entry& e = *it->second;
    if (!e.info.running) {
      return absl::FailedPreconditionError(
          absl::StrCat("strategy ", request.strategy_id, " is stopped; start it to trade"));
    }
    if (std::find(e.info.pairs.begin(), e.info.pairs.end(), request.symbol) ==
        e.info.pairs.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "symbol: ", LogQuote(request.symbol), " is not one of strategy ", request.strategy_id,
          "'s pairs (", absl::StrJoin(e.info.pairs, ", "), ")"));
    }
    for (const auto& [id, row] : e.open) {
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
  std::shared_ptr<Exchange> current, previous;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(strategy_id);
    if (it == entries_.end()) {
      return absl::NotFoundError(absl::StrCat("unknown strategy ", LogQuote(strategy_id)));
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
    return absl::NotFoundError(absl::StrCat("unknown strategy ", LogQuote(strategy_id)));
  }
  std::vector<Position> out;
  for (const auto& [id, row] : it->second->open) out.push_back(row);
  std::sort(out.begin(), out.end(),
            [](const Position& a, const Position& b) { return a.id < b.id; });
  return out;
}

absl::StatusOr<bool> ExchangeControl::HasOpenExposure(absl::string_view strategy_id) {
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(strategy_id);
    if (it == entries_.end()) {
      return absl::NotFoundError(absl::StrCat("unknown strategy ", LogQuote(strategy_id)));
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
  if (result.closed_positions.empty() && result.open_positions.empty()) return;
  std::vector<PositionView> positions;
  std::vector<KpiView> kpis;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(strategy_id);
    if (it == entries_.end()) return;
    Entry& e = *it->second;
    KpiAccumulator& type_acc = type_kpis_[e.info.type];
    for (const Position& row : result.closed_positions) {
      e.open.erase(row.id);
      if (row.status != PositionStatus::kClosed || !e.closed_ids.insert(row.id).second) continue;
      const ClosedTrade trade = TradeOf(row);
      e.trades.push_back(trade);
      e.kpis.AddClosedTrade(trade);
      type_acc.AddClosedTrade(trade);
      all_kpis_.AddClosedTrade(trade);
      positions.push_back(ViewLocked(e, row));
    }
    for (const Position& row : result.open_positions) {
      if (e.closed_ids.contains(row.id)) continue;
      e.open[row.id] = row;
      positions.push_back(ViewLocked(e, row));
    }
    Decimal open_fees;
    for (const auto& [id, row] : e.open) open_fees += row.fees;
    const Decimal delta = open_fees - e.open_fees;
    e.open_fees = open_fees;
    for (KpiAccumulator* acc : {&e.kpis, &type_acc, &all_kpis_}) acc->AddOpenFees(delta);
    const int64_t now = deps_.clock->NowMillis();
    MarkLocked(e, now, &kpis);
    MarkAggregatesLocked({e.info.type}, now, &kpis);
  }
  feed_.PublishPositions(positions);
  feed_.PublishKpis(kpis);
}

void ExchangeControl::ProcessTick(const TickPtr& tick) {
  // 1. Let the exchanges of the strategies trading this pair act on it.
  std::vector<std::pair<std::string, std::shared_ptr<Exchange>>> exchanges;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, e] : entries_) {
      if (std::find(e->info.pairs.begin(), e->info.pairs.end(), tick->pair) ==
          e->info.pairs.end()) {
        continue;
      }
      exchanges.emplace_back(id, e->exchange);
      if (e->previous) exchanges.emplace_back(id, e->previous);
    }
  }
  for (const auto& [id, exchange] : exchanges) {
    for (const OrderResult& r : exchange->OnTick(*tick)) Apply(id, r);
  }
  // 2. Mark the open positions in this pair.
  if (tick->stale) return;
  std::vector<PositionView> positions;
  std::vector<KpiView> kpis;
  {
    absl::MutexLock lock(&mu_);
    marks_[tick->pair] = tick->last;
    const int64_t now = deps_.clock->NowMillis();
    absl::flat_hash_set<std::string> types;
    for (auto& [id, e] : entries_) {
      bool touched = false;
      for (const auto& [row_id, row] : e->open) {
        if (row.symbol != tick->pair) continue;
        touched = true;
        positions.push_back(ViewLocked(*e, row));
      }
      if (!touched) continue;
      MarkLocked(*e, now, &kpis);
      types.insert(e->info.type);
    }
    if (!types.empty()) MarkAggregatesLocked(types, now, &kpis);
  }
  feed_.PublishPositions(positions);
  feed_.PublishKpis(kpis);
}

absl::StatusOr<std::vector<PositionView>> ExchangeControl::ListPositions(const Query& q) {
  PositionFilter filter{.strategy_id = q.strategy_id, .symbol = q.symbol,
                        .status = q.position_status};
  absl::flat_hash_map<std::string, std::string> types;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, e] : entries_) {
      types[id] = e->info.type;
      if (!q.strategy_type.empty() && e->info.type == q.strategy_type) {
        filter.strategy_ids.push_back(id);
      }
    }
  }
  if (!q.strategy_type.empty() && filter.strategy_ids.empty()) return std::vector<PositionView>{};
  std::vector<Position> rows;
  XCTL_RETURN_IF_ERROR(deps_.store->Read([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(rows, tx.positions().List(filter, q.page));
    return absl::OkStatus();
  }));
  std::vector<PositionView> out;
  absl::MutexLock lock(&mu_);
  for (const Position& row : rows) {
    PositionView v{.position = row, .strategy_type = types[row.strategy_id]};
    if (row.status == PositionStatus::kOpen) {
      const Decimal mark = MarkOf(row.symbol, row);
      v.mark_price = mark;
      v.unrealized_pnl = paper::UnrealizedPnl(row, InstrumentOf(row.symbol), mark);
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
  TradingMode mode;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(strategy_id);
    if (it == entries_.end()) {
      return absl::NotFoundError(absl::StrCat("unknown strategy ", LogQuote(strategy_id)));
    }
    exchange = it->second->exchange;
    mode = it->second->info.mode();
  }
  XCTL_ASSIGN_OR_RETURN(Account account, exchange->Balance());
  BalanceView v{.account = account, .mode = mode};
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(strategy_id);
    if (it != entries_.end()) v.unrealized_pnl = it->second->unrealized;
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
  absl::MutexLock lock(&mu_);
  KpiReport report;
  if (!strategy_id.empty()) {
    auto it = entries_.find(strategy_id);
    if (it == entries_.end()) {
      return absl::NotFoundError(absl::StrCat("unknown strategy ", LogQuote(strategy_id)));
    }
    report.total = StrategyKpisLocked(*it->second);
    report.strategies.push_back(report.total);
    return report;
  }
  if (!strategy_type.empty()) {
    if (!type_kpis_.contains(strategy_type)) {
      return absl::NotFoundError(
          absl::StrCat("no strategy of type ", LogQuote(strategy_type)));
    }
    report.total = TypeKpisLocked(std::string(strategy_type));
    report.types.push_back(report.total);
  } else {
    report.total = AllKpisLocked();
    for (const auto& [type, acc] : type_kpis_) report.types.push_back(TypeKpisLocked(type));
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
      return absl::NotFoundError(absl::StrCat("unknown strategy ", LogQuote(strategy_id)));
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
      RebuildAggregates();
      for (const auto& [id, row] : it->second->open) {
        positions.push_back(ViewLocked(*it->second, row));
      }
    }
  }
  feed_.PublishPositions(positions);
  return report;
}

std::vector<PositionView> ExchangeControl::OpenPositionViews(const FeedFilter& filter) {
  std::vector<PositionView> out;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, e] : entries_) {
    for (const auto& [row_id, row] : e->open) {
      PositionView v = ViewLocked(*e, row);
      if (filter.Matches(v)) out.push_back(std::move(v));
    }
  }
  std::sort(out.begin(), out.end(), [](const PositionView& a, const PositionView& b) {
    return a.position.id < b.position.id;
  });
  return out;
}

std::vector<KpiView> ExchangeControl::KpiViews(const FeedFilter& filter) {
  std::vector<KpiView> all;
  {
    absl::MutexLock lock(&mu_);
    all.push_back(AllKpisLocked());
    for (const auto& [type, acc] : type_kpis_) all.push_back(TypeKpisLocked(type));
    for (const auto& [id, e] : entries_) all.push_back(StrategyKpisLocked(*e));
  }
  std::vector<KpiView> out;
  for (KpiView& v : all) {
    if (filter.Matches(v)) out.push_back(std::move(v));
  }
  return out;
}

}  // namespace xctl
