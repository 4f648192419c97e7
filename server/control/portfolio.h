// Portfolio: the open position rows, their marks and the KPIs of every
// strategy in the process, and the position/KPI feed (docs/control.md,
// "Mark to market", "Lists, balance, KPIs").
//
//  - Open rows with what each adds at the current mark (unrealized PnL,
//    signed quantity, notional), indexed by symbol and by id.
//  - KPIs per strategy, per strategy type and over all strategies, kept
//    incrementally (server/control/kpis.h): a closed trade is added once; a
//    tick only re-marks. The type and "all" sums are rebuilt from the
//    strategies only when membership changes, lazily.
//  - Every OrderResult the OrderRouter gets from an exchange is folded in by
//    Apply and published on the feed; Mark marks a batch of ticks.
//  - CheckIntegrity() rebuilds the running sums from the open rows and the
//    store and says where they differ (tests call it after trading).
//
// The Portfolio never calls an exchange nor the OrderRouter. Lock order:
// OrderRouter's registry lock may be held while calling a Portfolio method
// (router -> portfolio), never the other way round; the feed is published
// with no Portfolio lock held. Thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
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
#include "server/control/kpis.h"
#include "server/control/strategy_info.h"
#include "server/model/instruments.h"
#include "server/price/price_module.h"
#include "server/store/store.h"

namespace xctl {

namespace reason {
// CheckIntegrity found running sums or indexes that their rows do not
// rebuild (a bug, or a store changed under a running process).
inline constexpr char kPortfolioInconsistent[] = "PORTFOLIO_INCONSISTENT";
}  // namespace reason

// At most one of `strategy_id` and `strategy_type` names a KPI scope
// (INVALID_ARGUMENT otherwise); GetKpis and the KPI stream share it.
[[nodiscard]] absl::Status CheckKpiScope(absl::string_view strategy_id,
                                         absl::string_view strategy_type);

class Portfolio {
 public:
  struct Deps {
    Store* store = nullptr;
    const PriceView* prices = nullptr;  // a mark before the first tick
    const InstrumentCatalog* instruments = nullptr;
    const Clock* clock = nullptr;
  };
  explicit Portfolio(const Deps& deps);

  // Adds a strategy or takes its new description. Its history (closed
  // trades, open rows, funding, account) is (re)loaded from the store when
  // it is new, when its type or starting balance changed, or when `reload`.
  [[nodiscard]] absl::Status Register(const StrategyInfo& info, bool reload);
  // Forgets a strategy's rows and KPIs (its history stays in the store).
  void Remove(absl::string_view strategy_id);
  // Reloads a strategy's rows and KPIs from the store (after a
  // reconciliation) and publishes its open rows.
  [[nodiscard]] absl::Status Reload(absl::string_view strategy_id);

  // Folds a trading result into positions and KPIs and publishes it.
  void Apply(absl::string_view strategy_id, const OrderResult& result);
  // Marks the open rows of the ticked pairs: every row once, then each
  // touched strategy and aggregate once for the whole batch; publishes the
  // changes when the feed has a subscriber.
  void Mark(const std::vector<TickPtr>& ticks);

  // The strategy's open rows by id (NOT_FOUND for an unknown strategy).
  [[nodiscard]] absl::StatusOr<std::vector<Position>> OpenRows(absl::string_view strategy_id);
  // True when the strategy has an open row (NOT_FOUND when unknown).
  [[nodiscard]] absl::StatusOr<bool> HasOpenRows(absl::string_view strategy_id);
  // The first open row of the strategy in `symbol` (any symbol when empty)
  // whose mode is not `mode`; nullopt when none (or the strategy is unknown).
  std::optional<Position> OpenRowNotInMode(absl::string_view strategy_id,
                                           absl::string_view symbol, TradingMode mode);

  // A balance read from the strategy's exchange: live balances update the
  // unexplained difference (docs/kpis.md). Returns the strategy's
  // unrealized PnL (0 when unknown).
  Decimal OnBalance(absl::string_view strategy_id, const Account& account, bool live);

  struct Query {
    std::string strategy_id;
    std::string strategy_type;
    std::string symbol;
    std::optional<PositionStatus> position_status;
    std::optional<OrderStatus> order_status;
    Page page;
  };
  // Stored positions, newest first, open ones with their marks (open ones
  // from memory).
  [[nodiscard]] absl::StatusOr<std::vector<PositionView>> ListPositions(const Query& query);
  [[nodiscard]] absl::StatusOr<std::vector<Order>> ListOrders(const Query& query);

  struct KpiReport {
    KpiView total;
    std::vector<KpiView> strategies;
    std::vector<KpiView> types;
  };
  // At most one of the two; neither: everything.
  [[nodiscard]] absl::StatusOr<KpiReport> GetKpis(absl::string_view strategy_id,
                                                  absl::string_view strategy_type);

  // The live feed, and the snapshots a stream starts with.
  ControlFeed& feed() { return feed_; }
  std::vector<PositionView> OpenPositionViews(const FeedFilter& filter);
  std::vector<KpiView> KpiViews(const FeedFilter& filter);

  // Rebuilds from the open rows (and the store's open rows of each
  // strategy) what the running sums and indexes hold, and returns INTERNAL
  // naming the first difference: per strategy the unrealized PnL, open fees
  // and realized PnL; per type and "all" the unrealized PnL, open positions
  // and exposure per symbol; the symbol and id indexes; each open row
  // against its stored row. Call it while no trade is under way.
  [[nodiscard]] absl::Status CheckIntegrity();

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

  absl::Status LoadHistoryLocked(Entry& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Rebuilds the type and "all" aggregates from the entries when a change
  // of membership (strategy added, removed, reloaded) made them stale. Done
  // lazily, once for many changes (start-up registers every strategy first).
  void EnsureAggregatesLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Open rows: adds or replaces / removes one, keeping the contributions,
  // the aggregates and the indexes in step.
  void PutOpenRowLocked(Entry& entry, const Position& row) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EraseOpenRowLocked(Entry& entry, int64_t row_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EraseAllOpenRowsLocked(Entry& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
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
  Decimal MarkOf(const std::string& symbol, const Position& row) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A stored row's view (type, and while open its mark), and an open row's.
  PositionView ViewLocked(const std::string& strategy_type, Position row) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  PositionView OpenViewLocked(const OpenRow& open) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  KpiView StrategyKpisLocked(const Entry& entry) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  KpiView TypeKpisLocked(const std::string& type) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  KpiView AllKpisLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Open rows from memory, newest first (ListPositions of open rows).
  std::vector<PositionView> ListOpenLocked(const Query& query) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The ids of the strategies of `type` (ListPositions / ListOrders).
  std::vector<std::string> IdsOfType(absl::string_view type) ABSL_LOCKS_EXCLUDED(mu_);
  // CheckIntegrity's halves: the memory's sums and indexes; memory against
  // the store's open rows.
  absl::Status CheckSumsLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckAgainstStore(
      const absl::flat_hash_map<std::string, std::vector<Position>>& memory) const;
  // The catalog's specification (cached: the catalog is filled at start),
  // or a generic one.
  const Instrument& InstrumentOf(absl::string_view symbol) const;

  const Deps deps_;
  ControlFeed feed_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<Entry>> entries_ ABSL_GUARDED_BY(mu_);
  absl::node_hash_map<std::string, Aggregate> types_ ABSL_GUARDED_BY(mu_);
  Aggregate all_ ABSL_GUARDED_BY(mu_);
  bool aggregates_stale_ ABSL_GUARDED_BY(mu_) = false;
  // Indexes: the open rows in a symbol; every open row by id.
  absl::flat_hash_map<std::string, absl::flat_hash_set<OpenRow*>> holders_ ABSL_GUARDED_BY(mu_);
  absl::btree_map<int64_t, OpenRow*> open_by_id_ ABSL_GUARDED_BY(mu_);
  // Latest mark per symbol.
  absl::flat_hash_map<std::string, Decimal> marks_ ABSL_GUARDED_BY(mu_);
  mutable absl::Mutex instruments_mu_;
  mutable absl::flat_hash_map<std::string, std::unique_ptr<Instrument>> instrument_cache_
      ABSL_GUARDED_BY(instruments_mu_);
};

}  // namespace xctl
