#include "server/control/order_router.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/common/error_reason.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/control/order_checks.h"

namespace xctl {
OrderRouter::OrderRouter(const Deps& deps) : deps_(deps), portfolio_(*deps.portfolio) {}

OrderRouter::~OrderRouter() {
  Stop();
  // The exchanges go while tick_mu_, which their hook takes, is still here.
  absl::flat_hash_map<std::string, std::unique_ptr<Route>> routes;
  {
    absl::MutexLock lock(&mu_);
    traders_.clear();
    routes.swap(routes_);
  }
}

void OrderRouter::Start(PriceModule* bus) {
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

void OrderRouter::Stop() {
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

void OrderRouter::OnTicks(const std::vector<TickPtr>& ticks) {
  absl::MutexLock lock(&tick_mu_);
  for (const TickPtr& t : ticks) pending_ticks_[t->pair] = t;
}

void OrderRouter::ProcessPendingTicks() {
  std::vector<TickPtr> ticks;
  {
    absl::MutexLock lock(&tick_mu_);
    ticks.reserve(pending_ticks_.size());
    for (auto& [pair, tick] : pending_ticks_) ticks.push_back(std::move(tick));
    pending_ticks_.clear();
  }
  if (!ticks.empty()) ProcessTicks(ticks);
}

void OrderRouter::ResultsReady(const std::string& strategy_id) {
  absl::MutexLock lock(&tick_mu_);
  results_ready_.insert(strategy_id);
}

void OrderRouter::ProcessPendingResults() {
  absl::flat_hash_set<std::string> ids;
  {
    absl::MutexLock lock(&tick_mu_);
    ids.swap(results_ready_);
  }
  for (const std::string& id : ids) {
    std::shared_ptr<Exchange> exchanges[2];
    {
      absl::MutexLock lock(&mu_);
      auto it = routes_.find(id);
      if (it == routes_.end()) continue;  // removed meanwhile
      exchanges[0] = it->second->exchange;
      exchanges[1] = it->second->previous;
    }
    for (const std::shared_ptr<Exchange>& exchange : exchanges) {
      if (!exchange) continue;
      for (const OrderResult& r : exchange->TakeResults()) portfolio_.Apply(id, r);
    }
  }
}

void OrderRouter::WorkerLoop() {
  while (true) {
    {
      absl::MutexLock lock(&tick_mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(tick_mu_) {
        return stopping_ || !pending_ticks_.empty() || !results_ready_.empty();
      };
      tick_mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
    }
    ProcessPendingResults();
    ProcessPendingTicks();
  }
}

void OrderRouter::IndexRouteLocked(Route& route, bool add) {
  for (const std::string& pair : route.info.pairs) {
    if (add) {
      traders_[pair].insert(&route);
      continue;
    }
    auto it = traders_.find(pair);
    if (it == traders_.end()) continue;
    it->second.erase(&route);
    if (it->second.empty()) traders_.erase(it);
  }
}

absl::Status OrderRouter::UpsertStrategy(const StrategyInfo& configured) {
  // A live strategy's KPIs start from its account's real balance (the first
  // one read from BloFin), not from the configured paper balance.
  StrategyInfo info = configured;
  if (tenure_source_) {
    XCTL_ASSIGN_OR_RETURN(Tenure tenure, tenure_source_(info.id));
    info.tenure = std::move(tenure);
  }
  std::shared_ptr<Exchange> current, previous;
  bool rebuild_exchange = true;
  {
    absl::MutexLock lock(&mu_);
    auto it = routes_.find(info.id);
    if (it != routes_.end()) {
      const StrategyInfo& old = it->second->info;
      if (info.mode() == TradingMode::kLive && old.mode() == TradingMode::kLive) {
        info.starting_balance = old.starting_balance;
      }
      rebuild_exchange = old.credentials != info.credentials || old.leverage != info.leverage ||
                         old.starting_balance != info.starting_balance ||
                         old.taker_fee() != info.taker_fee() ||
                         old.maker_fee() != info.maker_fee() ||
                         TenureEpoch(old) != TenureEpoch(info);
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
  XCTL_RETURN_IF_ERROR(InstallRoute(info, current, previous, rebuild_exchange));
  // Hooked once registered, so the first announcement finds the route.
  if (rebuild_exchange) {
    current->SetResultsReady([this, id = info.id] { ResultsReady(id); });
  }
  spdlog::info("event=strategy_registered strategy={} type={} mode={} running={}", info.id,
               info.type, ToString(info.mode()), info.running);
  return absl::OkStatus();
}

absl::Status OrderRouter::InstallRoute(const StrategyInfo& info,
                                       std::shared_ptr<Exchange> current,
                                       std::shared_ptr<Exchange> previous, bool reload) {
  absl::MutexLock lock(&mu_);
  auto& slot = routes_[info.id];
  if (slot == nullptr) slot = std::make_unique<Route>();
  Route& route = *slot;
  IndexRouteLocked(route, false);
  route.info = info;
  IndexRouteLocked(route, true);
  route.exchange = std::move(current);
  route.previous = std::move(previous);
  // Lock order: mu_ before the Portfolio's (no exchange call under either).
  XCTL_RETURN_IF_ERROR(portfolio_.Register(info, reload));
  // The previous mode's exchange is kept while rows of that mode are open.
  if (route.previous && !portfolio_.OpenRowNotInMode(info.id, "", info.mode())) {
    route.previous.reset();
  }
  return absl::OkStatus();
}

absl::Status OrderRouter::RemoveStrategy(absl::string_view strategy_id) {
  absl::MutexLock lock(&mu_);
  auto it = routes_.find(strategy_id);
  if (it == routes_.end()) {
    return UnknownStrategy(strategy_id);
  }
  portfolio_.Remove(strategy_id);
  IndexRouteLocked(*it->second, false);
  routes_.erase(it);
  return absl::OkStatus();
}

absl::Status OrderRouter::SetRunning(absl::string_view strategy_id, bool running) {
  absl::MutexLock lock(&mu_);
  auto it = routes_.find(strategy_id);
  if (it == routes_.end()) {
    return UnknownStrategy(strategy_id);
  }
  it->second->info.running = running;
  return absl::OkStatus();
}

absl::Status OrderRouter::CheckOwner(absl::string_view strategy_id) {
  if (strategy_id.empty() || !trade_gate_ || Info(strategy_id)) return absl::OkStatus();
  return CheckGate(strategy_id);
}

std::optional<StrategyInfo> OrderRouter::Info(absl::string_view strategy_id) {
  absl::MutexLock lock(&mu_);
  auto it = routes_.find(strategy_id);
  if (it == routes_.end()) return std::nullopt;
  return it->second->info;
}

absl::StatusOr<std::shared_ptr<Exchange>> OrderRouter::ExchangeFor(
    absl::string_view strategy_id, absl::string_view symbol) {
  absl::MutexLock lock(&mu_);
  auto it = routes_.find(strategy_id);
  if (it == routes_.end()) {
    return UnknownStrategy(strategy_id);
  }
  const Route& r = *it->second;
  XCTL_RETURN_IF_ERROR(CheckRunning(r.info));
  if (r.previous && portfolio_.OpenRowNotInMode(strategy_id, symbol, r.info.mode())) {
    return r.previous;
  }
  return r.exchange;
}

absl::Status OrderRouter::UnknownAfterGate(absl::string_view strategy_id) const {
  XCTL_RETURN_IF_ERROR(CheckGate(strategy_id));
  return UnknownStrategy(strategy_id);
}

absl::StatusOr<OrderResult> OrderRouter::PlaceOrder(const OrderRequest& request) {
  XCTL_RETURN_IF_ERROR(CheckOrderRequest(request));
  XCTL_RETURN_IF_ERROR(CheckGate(request.strategy_id));
  std::shared_ptr<Exchange> exchange;
  {
    absl::MutexLock lock(&mu_);
    auto it = routes_.find(request.strategy_id);
    if (it != routes_.end()) {
      const Route& r = *it->second;
      XCTL_RETURN_IF_ERROR(CheckRunning(r.info));
      XCTL_RETURN_IF_ERROR(CheckTradedSymbol(r.info, request.symbol));
      XCTL_RETURN_IF_ERROR(CheckNoOtherModeRow(
          r.info,
          portfolio_.OpenRowNotInMode(request.strategy_id, request.symbol, r.info.mode())));
      exchange = r.exchange;
    }
  }
  if (!exchange) return UnknownAfterGate(request.strategy_id);
  XCTL_ASSIGN_OR_RETURN(OrderResult result, exchange->PlaceOrder(request));
  portfolio_.Apply(request.strategy_id, result);
  return result;
}

absl::StatusOr<OrderResult> OrderRouter::ClosePosition(absl::string_view strategy_id,
                                                           const CloseRequest& request) {
  XCTL_RETURN_IF_ERROR(CheckCloseRequest(request));
  XCTL_RETURN_IF_ERROR(CheckGate(strategy_id));
  absl::StatusOr<std::shared_ptr<Exchange>> found = ExchangeFor(strategy_id, request.symbol);
  if (absl::IsNotFound(found.status())) return UnknownAfterGate(strategy_id);
  XCTL_ASSIGN_OR_RETURN(std::shared_ptr<Exchange> exchange, std::move(found));
  XCTL_ASSIGN_OR_RETURN(OrderResult result, exchange->ClosePosition(request));
  portfolio_.Apply(strategy_id, result);
  return result;
}

absl::StatusOr<Order> OrderRouter::CancelOrder(absl::string_view strategy_id,
                                                   const CancelRequest& request) {
  XCTL_RETURN_IF_ERROR(CheckGate(strategy_id));
  std::shared_ptr<Exchange> current, previous;
  {
    absl::MutexLock lock(&mu_);
    auto it = routes_.find(strategy_id);
    if (it != routes_.end()) {
      current = it->second->exchange;
      previous = it->second->previous;
    }
  }
  if (!current) return UnknownAfterGate(strategy_id);
  auto cancelled = current->CancelOrder(request);
  if (cancelled.status().code() == absl::StatusCode::kNotFound && previous) {
    return previous->CancelOrder(request);
  }
  return cancelled;
}

absl::StatusOr<std::vector<Position>> OrderRouter::OpenPositions(absl::string_view strategy_id) {
  return portfolio_.OpenRows(strategy_id);
}

absl::StatusOr<bool> OrderRouter::HasOpenExposure(absl::string_view strategy_id) {
  {
    XCTL_ASSIGN_OR_RETURN(bool open, portfolio_.HasOpenRows(strategy_id));
    if (open) return true;
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

void OrderRouter::ProcessTicks(const std::vector<TickPtr>& ticks) {
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
      for (Route* r : it->second) {
        if (r->exchange->NeedsTicks()) due.push_back({r->info.id, r->exchange, t.get()});
        if (r->previous && r->previous->NeedsTicks()) {
          due.push_back({r->info.id, r->previous, t.get()});
        }
      }
    }
  }
  for (const Due& d : due) {
    for (const OrderResult& r : d.exchange->OnTick(*d.tick)) portfolio_.Apply(d.strategy_id, r);
  }
  // 2. Mark the open rows of these pairs.
  portfolio_.Mark(ticks);
}

absl::StatusOr<OrderRouter::BalanceView> OrderRouter::GetBalance(
    absl::string_view strategy_id) {
  std::shared_ptr<Exchange> exchange;
  TradingMode mode = TradingMode::kPaper;
  {
    absl::MutexLock lock(&mu_);
    auto it = routes_.find(strategy_id);
    if (it != routes_.end()) {
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
  v.unrealized_pnl = portfolio_.OnBalance(
      strategy_id, account, mode == TradingMode::kLive && exchange->mode() == TradingMode::kLive);
  v.equity = account.balance + v.unrealized_pnl;
  v.available = v.equity - account.margin_used;
  return v;
}

absl::StatusOr<ReconcileReport> OrderRouter::Reconcile(absl::string_view strategy_id) {
  std::shared_ptr<Exchange> exchange;
  {
    absl::MutexLock lock(&mu_);
    auto it = routes_.find(strategy_id);
    if (it == routes_.end()) {
      return UnknownStrategy(strategy_id);
    }
    exchange = it->second->exchange;
  }
  XCTL_ASSIGN_OR_RETURN(ReconcileReport report, exchange->Reconcile());
  for (const std::string& change : report.changes) {
    spdlog::info("event=reconcile strategy={} change={}", strategy_id, LogQuote(change));
  }
  XCTL_RETURN_IF_ERROR(portfolio_.Reload(strategy_id));
  return report;
}

}  // namespace xctl
