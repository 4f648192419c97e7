// OrderRouter: one exchange per strategy and the routing of every trade
// request to it (docs/control.md, "Registry and modes", "Trade routing").
//
//  - Registry strategy_id -> Exchange, built by the injected ExchangeFactory:
//    live (BlofinExchange) with credentials, paper without. Changing the
//    credentials switches the mode for new orders at once; positions opened
//    before keep their mode and are closed through an exchange of that mode.
//  - Every order is validated once, here, before any exchange sees it
//    (server/control/order_checks.h): known and running strategy, one of its
//    pairs, quantity and price rules, client order id format, and no open
//    position of the other mode in the symbol. Cluster mode's trade gate is
//    consulted first.
//  - Every OrderResult an exchange returns (from a request or from a tick)
//    goes to the Portfolio, which owns the rows, marks and KPIs.
//  - Ticks: the router subscribes to the price bus, conflates ticks per pair
//    while its worker is busy, lets the exchanges of the strategies trading a
//    ticked pair act on it (OnTick), then has the Portfolio mark the batch.
//  - Pushed results (docs/control.md, "Pushed results"): every exchange it
//    builds gets a ResultsReady hook (exchange.h) that queues the strategy
//    for the same worker, which takes the exchange's results (TakeResults)
//    and hands them to the Portfolio as it does OnTick's, without a tick.
//
// Thread-safe. Lock order: mu_ (the registry) before the Portfolio's lock
// (a Portfolio call may be made under mu_; the Portfolio never calls back);
// tick_mu_ is taken alone (the ResultsReady hook takes only it). No lock is
// held across an exchange call (which may wait on BloFin), so one slow
// strategy does not hold up the others. The exchanges it builds must not
// outlive it (their hook names it); the destructor drops them.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/control/exchange_factory.h"
#include "server/control/portfolio.h"
#include "server/control/strategy_info.h"
#include "server/price/price_module.h"
#include "server/store/store.h"

namespace xctl {

class OrderRouter final : public StrategyTrading {
 public:
  struct Deps {
    Store* store = nullptr;
    ExchangeFactory* factory = nullptr;
    Portfolio* portfolio = nullptr;  // outlives the router
  };
  explicit OrderRouter(const Deps& deps);
  ~OrderRouter() override;

  // Cluster mode (docs/cluster.md): consulted first by PlaceOrder,
  // ClosePosition and CancelOrder (and by GetBalance and CheckOwner for a
  // strategy unknown here). OK lets the request through; any other status
  // (UNAVAILABLE naming the strategy's owner, or "lease no longer held" on a
  // deposed owner) is returned as it is and nothing is traded. Set before
  // trading starts; unset (the default) means every request goes through.
  using TradeGate = std::function<absl::Status(absl::string_view strategy_id)>;
  void SetTradeGate(TradeGate gate) { trade_gate_ = std::move(gate); }

  // Cluster mode (docs/cluster.md, "Fencing"): the lease tenure a strategy's
  // exchange is built under (server/exchange/tenure.h). Asked by
  // UpsertStrategy before it builds or keeps an exchange; the exchange is
  // rebuilt when the epoch changed, so every write it makes is fenced by the
  // tenure current when its work started. An error (this instance does not
  // hold the lease) fails the upsert with it. Set before trading starts;
  // unset: no tenure, no fence.
  using TenureSource = std::function<absl::StatusOr<Tenure>(absl::string_view strategy_id)>;
  void SetTenureSource(TenureSource source) { tenure_source_ = std::move(source); }

  // Starts the tick worker and, when `bus` is given, subscribes to every
  // pair on it. Without a bus, feed ticks with OnTicks.
  void Start(PriceModule* bus);
  // Unsubscribes and stops the worker. Idempotent.
  void Stop();

  // Queues ticks for the worker (conflated per pair). Called by the bus.
  void OnTicks(const std::vector<TickPtr>& ticks);
  // Processes the queued ticks on the calling thread (tests, no worker).
  void ProcessPendingTicks();
  // Takes the results of the exchanges that announced some (ResultsReady)
  // and hands them to the Portfolio, on the calling thread (the worker does
  // this before the ticks; tests without a worker call it).
  void ProcessPendingResults();

  // StrategyTrading (see strategy_info.h).
  absl::Status UpsertStrategy(const StrategyInfo& info) override;
  absl::Status RemoveStrategy(absl::string_view strategy_id) override;
  absl::Status SetRunning(absl::string_view strategy_id, bool running) override;
  absl::StatusOr<OrderResult> PlaceOrder(const OrderRequest& request) override;
  absl::StatusOr<OrderResult> ClosePosition(absl::string_view strategy_id,
                                            const CloseRequest& request) override;
  absl::StatusOr<std::vector<Position>> OpenPositions(absl::string_view strategy_id) override;
  absl::StatusOr<bool> HasOpenExposure(absl::string_view strategy_id) override;

  // Cancels a resting order of a known strategy (running or not).
  [[nodiscard]] absl::StatusOr<Order> CancelOrder(absl::string_view strategy_id,
                                                  const CancelRequest& request);

  struct BalanceView {
    Account account;
    TradingMode mode = TradingMode::kPaper;
    Decimal unrealized_pnl;
    Decimal equity;     // balance + unrealized pnl
    Decimal available;  // equity - margin in use
  };
  // The exchange's account plus the Portfolio's unrealized PnL.
  [[nodiscard]] absl::StatusOr<BalanceView> GetBalance(absl::string_view strategy_id);

  // Reconciles a live strategy's orders and positions with its exchange and
  // has the Portfolio reload its positions and KPIs.
  [[nodiscard]] absl::StatusOr<ReconcileReport> Reconcile(absl::string_view strategy_id);

  // Cluster mode: the trade gate's verdict on a strategy that is not
  // registered here (its owner is another instance); OK for an empty id, a
  // strategy registered here, or without a gate. Reads (GetKpis) ask it
  // before answering NOT_FOUND.
  [[nodiscard]] absl::Status CheckOwner(absl::string_view strategy_id);

  // What the router knows of a strategy; nullopt when unknown.
  std::optional<StrategyInfo> Info(absl::string_view strategy_id);

 private:
  struct Route {
    StrategyInfo info;
    std::shared_ptr<Exchange> exchange;  // the current mode's
    std::shared_ptr<Exchange> previous;  // the other mode's, kept for its open rows
  };

  // The exchange that holds `symbol`'s open row (its mode), else the current;
  // NOT_FOUND for an unknown strategy, FAILED_PRECONDITION for a stopped one.
  absl::StatusOr<std::shared_ptr<Exchange>> ExchangeFor(absl::string_view strategy_id,
                                                        absl::string_view symbol);
  void IndexRouteLocked(Route& route, bool add) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // UpsertStrategy's last step: the route of `info` with its exchanges, and
  // the strategy registered with the Portfolio.
  absl::Status InstallRoute(const StrategyInfo& info, std::shared_ptr<Exchange> current,
                            std::shared_ptr<Exchange> previous, bool reload);
  // The exchange's ResultsReady hook: queues `strategy_id` for the worker.
  void ResultsReady(const std::string& strategy_id);
  // Lets the exchanges act on `ticks` (their results go to the Portfolio),
  // then has the Portfolio mark the batch.
  void ProcessTicks(const std::vector<TickPtr>& ticks);
  void WorkerLoop();

  absl::Status CheckGate(absl::string_view strategy_id) const {
    return trade_gate_ ? trade_gate_(strategy_id) : absl::OkStatus();
  }
  // A trade that passed the gate found no route: in cluster mode the
  // strategy may have been removed meanwhile (its lease lost, or given
  // back), so the gate is asked again and its answer (UNAVAILABLE naming
  // the owner, or "retry") wins over NOT_FOUND, which clients take as final.
  // Called without mu_ (the gate may read the lease table).
  absl::Status UnknownAfterGate(absl::string_view strategy_id) const;

  const Deps deps_;
  Portfolio& portfolio_;
  TradeGate trade_gate_;  // cluster mode only
  TenureSource tenure_source_;  // cluster mode only

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<Route>> routes_ ABSL_GUARDED_BY(mu_);
  // The routes trading a pair.
  absl::flat_hash_map<std::string, absl::flat_hash_set<Route*>> traders_ ABSL_GUARDED_BY(mu_);

  absl::Mutex tick_mu_;
  absl::flat_hash_map<std::string, TickPtr> pending_ticks_ ABSL_GUARDED_BY(tick_mu_);
  // Strategies whose exchange announced results (ResultsReady).
  absl::flat_hash_set<std::string> results_ready_ ABSL_GUARDED_BY(tick_mu_);
  bool stopping_ ABSL_GUARDED_BY(tick_mu_) = false;
  std::thread worker_;
  std::unique_ptr<Subscription> subscription_;
};

}  // namespace xctl
