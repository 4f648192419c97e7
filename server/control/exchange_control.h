// ExchangeControl: one exchange per strategy, trade routing, mark to market
// and KPIs, for every strategy in the process.
//
//  - Registry strategy_id -> Exchange, built by the injected ExchangeFactory:
//    live (BlofinExchange) with credentials, paper without. Changing the
//    credentials switches the mode for new orders at once; positions opened
//    before keep their mode and are closed through an exchange of that mode.
//  - Trade requests are validated before any exchange sees them: known and
//    running strategy, one of its pairs, quantity > 0, price rules, client
//    order id format, and no open position of the other mode in the symbol.
//  - Mark to market: every tick of the price bus updates the unrealized PnL of
//    the open positions in its pair (and lets each exchange fill resting
//    orders), then publishes the changed positions and KPIs on the feed, in
//    one batch per tick batch. Ticks are conflated per pair while the worker
//    is busy, so a burst never queues up.
//  - KPIs per strategy, per strategy type and over all strategies, kept
//    incrementally (server/control/kpis.h): a closed trade is added once; a
//    tick only re-marks.
//
// Thread-safe. Exchange calls (which may wait on BloFin) are made without the
// registry lock, so one slow strategy does not hold up the others.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/common/clock.h"
#include "server/control/control_feed.h"
#include "server/control/exchange_factory.h"
#include "server/control/kpis.h"
#include "server/control/strategy_info.h"
#include "server/price/price_module.h"
#include "server/store/store.h"

namespace xctl {

class ExchangeControl final : public StrategyTrading {
 public:
  struct Deps {
    Store* store = nullptr;
    const PriceView* prices = nullptr;
    const InstrumentCatalog* instruments = nullptr;
    ExchangeFactory* factory = nullptr;
    const Clock* clock = nullptr;
  };
  explicit ExchangeControl(const Deps& deps);
  ~ExchangeControl() override;

  // Cluster mode (docs/cluster.md): consulted first by PlaceOrder,
  // ClosePosition and CancelOrder (and by GetBalance for a strategy unknown
  // here). OK lets the request through; any other status (UNAVAILABLE naming
  // the strategy's owner, or "lease no longer held" on a deposed owner) is
  // returned as it is and nothing is traded. Set before trading starts;
  // unset (the default) means every request goes through.
  using TradeGate = std::function<absl::Status(absl::string_view strategy_id)>;
  void SetTradeGate(TradeGate gate) { trade_gate_ = std::move(gate); }

  // Starts the mark-to-market worker and, when `bus` is given, subscribes to
  // every pair on it. Without a bus, feed ticks with OnTicks.
  void Start(PriceModule* bus);
  // Unsubscribes and stops the worker. Idempotent.
  void Stop();

  // Queues ticks for the worker (conflated per pair). Called by the bus.
  void OnTicks(const std::vector<TickPtr>& ticks);
  // Processes the queued ticks on the calling thread (tests, no worker).
  void ProcessPendingTicks();

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

  struct Query {
    std::string strategy_id;
    std::string strategy_type;
    std::string symbol;
    std::optional<PositionStatus> position_status;
    std::optional<OrderStatus> order_status;
    Page page;
  };
  // Stored positions, newest first, open ones with their marks.
  [[nodiscard]] absl::StatusOr<std::vector<PositionView>> ListPositions(const Query& query);
  [[nodiscard]] absl::StatusOr<std::vector<Order>> ListOrders(const Query& query);

  struct BalanceView {
    Account account;
    TradingMode mode = TradingMode::kPaper;
    Decimal unrealized_pnl;
    Decimal equity;     // balance + unrealized pnl
    Decimal available;  // equity - margin in use
  };
  [[nodiscard]] absl::StatusOr<BalanceView> GetBalance(absl::string_view strategy_id);

  struct KpiReport {
    KpiView total;
    std::vector<KpiView> strategies;
    std::vector<KpiView> types;
  };
  // At most one of the two; neither: everything.
  [[nodiscard]] absl::StatusOr<KpiReport> GetKpis(absl::string_view strategy_id,
                                                  absl::string_view strategy_type);

  // Reconciles a live strategy's orders and positions with its exchange and
  // reloads its positions and KPIs.
  [[nodiscard]] absl::StatusOr<ReconcileReport> Reconcile(absl::string_view strategy_id);

  // The live feed, and the snapshots a stream starts with.
  ControlFeed& feed() { return feed_; }
  std::vector<PositionView> OpenPositionViews(const FeedFilter& filter);
  std::vector<KpiView> KpiViews(const FeedFilter& filter);

  // What control knows of a strategy; nullopt when unknown.
  std::optional<StrategyInfo> Info(absl::string_view strategy_id);

 private:
  // What one open row adds to its strategy's figures at the current mark.
  struct Contribution {
    Decimal unrealized;  // gross, before fees
    Decimal quantity;    // signed contracts
    Decimal notional;    // absolute, at the mark
  };
  struct Entry;
  // An open row with what it adds at the current mark. Nodes are stable:
  // the indexes point at them.
  struct OpenRow {
    Entry* entry = nullptr;
    Position row;
    const Instrument* instrument = nullptr;
    Contribution contribution;
  };
  struct Aggregate;
  struct Entry {
    StrategyInfo info;
    std::shared_ptr<Exchange> exchange;  // the current mode's
    std::shared_ptr<Exchange> previous;  // the other mode's, kept for its open rows
    std::vector<ClosedTrade> trades;
    absl::flat_hash_set<int64_t> closed_ids;  // counted once each
    KpiAccumulator kpis;
    absl::node_hash_map<int64_t, OpenRow> open;
    Decimal open_fees;
    Decimal unrealized;  // sum of the open rows' contributions
    Decimal realized;    // sum of the closed trades' pnl
    Decimal funding;     // sum of the recorded funding payments
    int64_t liquidations = 0;
    absl::flat_hash_set<int64_t> funding_ids;  // counted once each
    // Live: the account's cash balance as last read from BloFin, and what of
    // it the recorded fills, fees and funding do not explain.
    std::optional<Decimal> account_balance;
    Decimal unexplained;
    Aggregate* type_aggregate = nullptr;  // set while the aggregates are fresh
  };
  // Running sums over the members of a strategy type, or over all.
  struct ExposureSum {
    Decimal quantity;
    Decimal notional;
    int64_t rows = 0;
  };
  struct Aggregate {
    KpiAccumulator kpis;
    Decimal unrealized;
    Decimal unexplained;  // sum of the members'

    int64_t open_positions = 0;
    absl::btree_map<std::string, ExposureSum> exposure;  // by symbol
  };

  absl::Status LoadHistory(Entry& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Rebuilds the type and "all" aggregates from the entries when a change
  // of membership (strategy added, removed, reloaded) made them stale. Done
  // lazily, once for many changes (start-up registers every strategy first).
  void EnsureAggregatesLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Folds a trading result into positions and KPIs and publishes it.
  void Apply(const std::string& strategy_id, const OrderResult& result)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Open rows: adds or replaces / removes one, keeping the contributions,
  // the aggregates and the indexes in step.
  void PutOpenRowLocked(Entry& entry, const Position& row) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Funding, liquidations and the live account's unexplained difference
  // (money_kpis.cc): folds them into the entry and, unless stale, its
  // aggregates.
  void AddFundingLocked(Entry& entry, const FundingPayment& payment)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AddLiquidationLocked(Entry& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Recomputes the entry's unexplained difference from its last account
  // balance (live only; paper stays 0). Called when a balance was read.
  void UpdateUnexplainedLocked(Entry& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Loads the entry's funding rows, liquidation count and stored account.
  absl::Status LoadMoneyLocked(Entry& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EraseOpenRowLocked(Entry& entry, int64_t row_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Contribution ContributionOf(const OpenRow& open, const Decimal& mark) const;
  // Adds `after - before` of a row in `symbol` to the entry and its
  // aggregates; `rows` is +1 (new row), -1 (row gone) or 0.
  void AddDeltaLocked(Entry& entry, const std::string& symbol, const Contribution& before,
                      const Contribution& after, int rows) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Appends the entry's equity at `now` to its curve (and the view).
  void MarkEntryLocked(Entry& entry, int64_t now, std::vector<KpiView>* kpis)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Appends the equity of `types` and of "all" at `now` (and the views).
  void MarkAggregatesLocked(const absl::flat_hash_set<std::string>& types, int64_t now,
                            std::vector<KpiView>* kpis) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void IndexEntryLocked(Entry& entry, bool add) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Decimal MarkOf(const std::string& symbol, const Position& row) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A closed row's view, and an open row's with its mark.
  PositionView ViewLocked(const Entry& entry, const Position& row) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PositionView OpenViewLocked(const OpenRow& open) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  KpiView StrategyKpisLocked(const Entry& entry) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  KpiView TypeKpisLocked(const std::string& type) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  KpiView AllKpisLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Open rows from memory, newest first (ListPositions of open rows).
  std::vector<PositionView> ListOpenLocked(const Query& query) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The catalog's specification (cached: the catalog is filled at start),
  // or a generic one.
  const Instrument& InstrumentOf(absl::string_view symbol) const;
  // The exchange that holds `symbol`'s open row (its mode), else the current;
  // NOT_FOUND for an unknown strategy, FAILED_PRECONDITION for a stopped one.
  absl::StatusOr<std::shared_ptr<Exchange>> ExchangeFor(absl::string_view strategy_id,
                                                        absl::string_view symbol);
  // Lets the exchanges act on `ticks`, then marks the open rows of their
  // pairs: each touched strategy and aggregate once for the whole batch.
  void ProcessTicks(const std::vector<TickPtr>& ticks);
  void WorkerLoop();

  absl::Status CheckGate(absl::string_view strategy_id) const {
    return trade_gate_ ? trade_gate_(strategy_id) : absl::OkStatus();
  }

  const Deps deps_;
  TradeGate trade_gate_;  // cluster mode only
  ControlFeed feed_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<Entry>> entries_ ABSL_GUARDED_BY(mu_);
  absl::node_hash_map<std::string, Aggregate> types_ ABSL_GUARDED_BY(mu_);
  Aggregate all_ ABSL_GUARDED_BY(mu_);
  bool aggregates_stale_ ABSL_GUARDED_BY(mu_) = false;
  // Indexes: the entries trading a pair; the entries holding an open row in
  // a symbol; every open row by id.
  absl::flat_hash_map<std::string, absl::flat_hash_set<Entry*>> traders_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::flat_hash_set<OpenRow*>> holders_ ABSL_GUARDED_BY(mu_);
  absl::btree_map<int64_t, OpenRow*> open_by_id_ ABSL_GUARDED_BY(mu_);
  // Latest mark per symbol.
  absl::flat_hash_map<std::string, Decimal> marks_ ABSL_GUARDED_BY(mu_);
  mutable absl::Mutex instruments_mu_;
  mutable absl::flat_hash_map<std::string, std::unique_ptr<Instrument>> instrument_cache_
      ABSL_GUARDED_BY(instruments_mu_);

  absl::Mutex tick_mu_;
  absl::flat_hash_map<std::string, TickPtr> pending_ticks_ ABSL_GUARDED_BY(tick_mu_);
  bool stopping_ ABSL_GUARDED_BY(tick_mu_) = false;
  std::thread worker_;
  std::unique_ptr<Subscription> subscription_;
};

}  // namespace xctl
