// PaperExchange: the Exchange of a strategy without BloFin credentials.
// Trades against the price module's latest prices, with the fees, margin and
// netting of a BloFin USDT perpetual account, and keeps everything in the
// store so a restart resumes exactly where it stopped.
//
//  - Market orders fill at once: buys at the ask, sells at the bid, the last
//    price when the source has no book. A missing or stale price is
//    FAILED_PRECONDITION and nothing is traded.
//  - Limit orders that cross the book on arrival fill at once at the book
//    price (taker); the others rest (stored, reloaded at restart) until a
//    tick crosses them (OnTick), then fill at the limit price (maker).
//    post_only, ioc and fok follow paper/arrival.h (BloFin's rules).
//  - Take-profit / stop-loss on an order pass to the position it fills;
//    OnTick fires them (paper/triggers.h; paper_triggers.cc).
//  - Fees: taker and maker rates of the account (default BloFin's standard
//    0.06% / 0.02%), charged on every fill, kept in the order, the fill and
//    the position rows.
//  - Margin: an order needs initial margin (notional / leverage) for the part
//    that increases exposure, plus its fee, out of equity minus the margin in
//    use (open positions and resting orders); otherwise FAILED_PRECONDITION
//    with the numbers.
//  - Positions: one-way (net) mode through server/model/ledger.h.
//  - Funding (paper/funding.h): at each settlement of a pair whose funding
//    rate the price module has (prices from BloFin), the open position pays
//    or receives rate x quantity x contract value x price, recorded once.
//  - Liquidation (paper/liquidation.h): on every tick while positions are
//    open, positions are liquidated as BloFin would, with maintenance margin
//    from the instrument's position tiers.
//  - Every fill commits order, fill, position rows and account in one store
//    transaction before the call returns; in cluster mode every write is
//    fenced by the strategy's lease tenure (Deps::tenure, tenure.h). A client order id seen before
//    returns the stored result (replayed) instead of trading again; a
//    rejected order stores nothing, so a retry after the cause is gone works.
//
// Thread-safe: calls on one PaperExchange are serialized by its mutex.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/common/clock.h"
#include "server/exchange/exchange.h"
#include "server/exchange/tenure.h"
#include "absl/container/flat_hash_map.h"
#include "server/model/instruments.h"
#include "server/exchange/paper/triggers.h"
#include "server/exchange/paper/liquidation.h"
#include "server/model/position_tiers.h"
#include "server/price/funding_rates.h"
#include "server/price/price_view.h"
#include "server/store/store.h"

namespace xctl {

// The paper account of one strategy.
struct PaperAccountConfig {
  std::string strategy_id;
  // Used when the account is created; an existing account keeps its balance.
  Decimal starting_balance = Decimal::FromInt(10000);
  Decimal leverage = Decimal::FromInt(1);
  Decimal taker_fee_rate = kDefaultTakerFeeRate;
  // May be negative (a maker rebate, as BloFin's fills report it).
  Decimal maker_fee_rate = kDefaultMakerFeeRate;
  // "cross" or "isolated": how liquidation is decided (paper/liquidation.h).
  std::string margin_mode = "cross";
};

class PaperExchange final : public Exchange {
 public:
  // What the exchange reads; all must outlive it.
  struct Deps {
    Store* store = nullptr;
    const PriceView* prices = nullptr;
    const InstrumentCatalog* instruments = nullptr;
    const Clock* clock = nullptr;
    // Funding rates (the price module); null or empty: no funding.
    const FundingRateView* funding = nullptr;
    // Position tiers; null: the built-in DefaultTiers.
    const TierCatalog* tiers = nullptr;
    // Cluster mode: the lease tenure every write of this account is fenced
    // by (tenure.h); none: unfenced.
    std::optional<Tenure> tenure;
  };

  // Loads (or creates) the strategy's account and its resting orders. The
  // strategy must exist in the store. An existing account takes the
  // configured leverage.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<PaperExchange>> Open(
      const PaperAccountConfig& config, const Deps& deps);

  absl::string_view name() const override { return "paper"; }
  TradingMode mode() const override { return TradingMode::kPaper; }
  const std::string& strategy_id() const override { return config_.strategy_id; }

  absl::StatusOr<OrderResult> PlaceOrder(const OrderRequest& request) override;
  absl::StatusOr<Order> CancelOrder(const CancelRequest& request) override;
  absl::StatusOr<OrderResult> ClosePosition(const CloseRequest& request) override;
  absl::StatusOr<std::vector<Order>> OpenOrders() override;
  absl::StatusOr<std::vector<Position>> Positions() override;
  absl::StatusOr<Account> Balance() override;
  absl::StatusOr<Instrument> GetInstrument(absl::string_view symbol) override;
  std::vector<OrderResult> OnTick(const Tick& tick) override;
  // True while orders rest, TP/SL triggers are armed or positions are open
  // (funding, liquidation).
  bool NeedsTicks() const override {
    return has_resting_.load(std::memory_order_relaxed) ||
           has_triggers_.load(std::memory_order_relaxed) ||
           has_open_.load(std::memory_order_relaxed);
  }

 private:
  PaperExchange(const PaperAccountConfig& config, const Deps& deps)
      : config_(config), deps_(deps) {}

  absl::StatusOr<OrderResult> PlaceLocked(const OrderRequest& request)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // PlaceLocked after the request's checks, for a client order id not stored
  // yet (a stored one fails the order's insert, and PlaceLocked replays it).
  absl::StatusOr<OrderResult> PlaceNewLocked(const OrderRequest& request,
                                             const Instrument& instrument)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The stored result of a client order id seen before, or nullopt.
  absl::StatusOr<std::optional<OrderResult>> Replay(const OrderRequest& request)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A fresh (not stale) tick of `symbol`, or FAILED_PRECONDITION.
  absl::StatusOr<TickPtr> FreshTick(absl::string_view symbol) const;
  // The strategy's account and open positions as of a transaction: what a
  // margin check and the account row need, read once per transaction and
  // kept in step with what the transaction writes (paper_margin.cc).
  struct AccountState {
    Account account;
    std::vector<Position> open;
    // The open row in `symbol`, if any.
    std::optional<Position> OpenIn(absl::string_view symbol) const;
    // After a fill: `row` (if any) is the open row in `symbol` now.
    void Replace(absl::string_view symbol, const std::optional<Position>& row);
  };
  absl::StatusOr<AccountState> ReadAccountState(Tx& tx) const;
  // FAILED_PRECONDITION with the numbers unless `state` can carry an order of
  // `quantity` at `price` (fee at `fee_rate`).
  absl::Status CheckMargin(const AccountState& state, const Instrument& instrument, Side side,
                           Decimal price, Decimal quantity, Decimal fee_rate) const;
  // Whether Fill checks the margin (taker rate) in its transaction first.
  enum class MarginCheck { kNone, kTaker };
  // Fills the rest of `order` at `price` and commits it all in one
  // transaction; `order.id` 0 inserts the order. Resting reduce-only orders
  // that no longer reduce are cancelled instead. With kTaker the margin is
  // checked in the same transaction first (refused: nothing is written).
  absl::StatusOr<OrderResult> Fill(Order order, const Instrument& instrument, Decimal price,
                                   bool maker, MarginCheck check = MarginCheck::kNone)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Initial margin of `open` plus the increasing part of the `resting`
  // orders, at the configured leverage; notes whether positions are open.
  Decimal MarginInUse(const std::vector<Position>& open, const std::vector<Order>& resting)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes the account of `state` plus `balance_delta` of cash, with its
  // margin in use from `state.open` and `resting` as the resting orders.
  absl::Status WriteAccount(Tx& tx, const AccountState& state, Decimal balance_delta,
                            const std::vector<Order>& resting, int64_t now_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // ReadAccountState, then WriteAccount.
  absl::Status UpdateAccount(Tx& tx, Decimal balance_delta, const std::vector<Order>& resting,
                             int64_t now_ms) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<Order> RestingExcept(int64_t order_id) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Stores `order` as canceled on arrival (post_only that would take, ioc or
  // fok that cannot fill) with `reason`; nothing is traded.
  absl::StatusOr<OrderResult> StoreCanceled(Order order, absl::string_view reason)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // paper_triggers.cc: the book from the open positions, and one trigger
  // firing (the reduce-only close, then the position's TP/SL cleared).
  void LoadTriggers(const std::vector<Position>& open) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ApplyTriggers(const OrderResult& result) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::optional<OrderResult>> FireTrigger(const paper::DueTrigger& due)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Instrument InstrumentOf(absl::string_view symbol) const;
  // What every store write passes to Store::Transact (null: no fence).
  const WriteFence* fence() const { return FenceOf(deps_.tenure); }
  // OnTick: fills the resting limit orders the tick crosses and fires the
  // TP/SL triggers it reaches, appending what changed to `results`.
  void FillRestingAndTriggersLocked(const Tick& tick, std::vector<OrderResult>* results)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // paper/funding.cc: settles the funding of `tick.pair` due by now.
  void SettleFundingLocked(const Tick& tick, std::vector<OrderResult>* results)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // paper/liquidation.cc: liquidates what the tick's price makes
  // liquidatable.
  void LiquidateLocked(const Tick& tick, std::vector<OrderResult>* results)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const PaperAccountConfig config_;
  const Deps deps_;
  absl::Mutex mu_;
  // Resting limit orders, oldest first (mirror of the store).
  std::vector<Order> resting_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> has_resting_{false};  // !resting_.empty(), read without mu_
  paper::TriggerBook triggers_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> has_triggers_{false};  // !triggers_.empty(), read without mu_
  std::atomic<bool> has_open_{false};     // open positions, as of the last write
  // Bumped by every write of the account (UpdateAccount); the liquidation
  // snapshot is re-read only when it moved.
  uint64_t writes_ ABSL_GUARDED_BY(mu_) = 0;
  paper::LiquidationSnapshot liquidation_ ABSL_GUARDED_BY(mu_);
  // Per pair: the latest settlement time handled (paper/funding.cc).
  absl::flat_hash_map<std::string, int64_t> funding_done_ ABSL_GUARDED_BY(mu_);
};

}  // namespace xctl
