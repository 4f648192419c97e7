// BlofinExchange: the Exchange of a strategy with BloFin API credentials.
// Trades USDT perpetuals in one-way (net) mode through BloFin's REST API v1
// (rest_client.h), and mirrors what happens there into the store with the
// same rows a paper strategy writes (exchange_store.h), so KPIs and positions
// look the same for live and paper.
//
//  - Orders are checked against the instrument first (same messages as
//    paper), then sent with a client order id (xctl makes one when the caller
//    gave none). After BloFin accepts, the order's state and fills are read
//    back and committed in one transaction.
//  - Exactly once: BloFin refuses a client order id it has seen (102050), and
//    when a request fails without an answer (timeout, 5xx) the order is looked
//    up by its client order id before anything else; retrying a call with
//    the same client order id is always safe. A client order id already in
//    the store returns the stored result (replayed).
//  - Rejections by BloFin (margin, lot size, ...) store nothing and come back
//    as INVALID_ARGUMENT / FAILED_PRECONDITION with BloFin's code and text.
//  - Resting limit orders are refreshed from BloFin on price ticks at most
//    once per `order_sync_interval` per symbol.
//  - The strategy's leverage is set on each instrument before its first order.
//
// Thread-safe: calls are serialized per exchange object.
#pragma once

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/common/clock.h"
#include "server/exchange/blofin/rest_client.h"
#include "server/exchange/exchange.h"
#include "server/exchange/instruments.h"
#include "server/store/store.h"

namespace xctl {

struct BlofinExchangeConfig {
  std::string strategy_id;
  BlofinCredentials credentials;
  blofin::RestOptions rest;
  // "cross" or "isolated".
  std::string margin_mode = "cross";
  // Whole number from 1 to the instrument's maximum.
  Decimal leverage = Decimal::FromInt(1);
  // Used for the account row until BloFin's balance is read.
  Decimal starting_balance;
  absl::Duration order_sync_interval = absl::Seconds(2);
};

class BlofinExchange final : public Exchange {
 public:
  struct Deps {
    Store* store = nullptr;
    const InstrumentCatalog* instruments = nullptr;
    const Clock* clock = nullptr;
  };

  // Checks the configuration (no network call). The strategy must exist in
  // the store.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<BlofinExchange>> Open(
      BlofinExchangeConfig config, const Deps& deps);

  absl::string_view name() const override { return "blofin"; }
  TradingMode mode() const override { return TradingMode::kLive; }
  const std::string& strategy_id() const override { return config_.strategy_id; }

  absl::StatusOr<OrderResult> PlaceOrder(const OrderRequest& request) override;
  absl::StatusOr<Order> CancelOrder(const CancelRequest& request) override;
  absl::StatusOr<OrderResult> ClosePosition(const CloseRequest& request) override;
  absl::StatusOr<std::vector<Order>> OpenOrders() override;
  absl::StatusOr<std::vector<Position>> Positions() override;
  absl::StatusOr<Account> Balance() override;
  absl::StatusOr<Instrument> GetInstrument(absl::string_view symbol) override;
  std::vector<OrderResult> OnTick(const Tick& tick) override;
  // Orders: BloFin's pending orders unknown to the store are adopted; the
  // store's resting orders BloFin no longer lists get their final state (and
  // fills) from BloFin's history, or are cancelled when BloFin has no trace.
  // Positions: BloFin's net position per symbol is the truth; rows it lacks
  // are closed (pnl recorded as 0: the close happened outside xctl), missing
  // rows are adopted, quantities corrected.
  absl::StatusOr<ReconcileReport> Reconcile() override;

 private:
  BlofinExchange(BlofinExchangeConfig config, const Deps& deps);

  absl::StatusOr<OrderResult> PlaceLocked(const OrderRequest& request)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<OrderResult> Send(const OrderRequest& request, const Instrument& instrument)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status EnsureLeverage(absl::string_view symbol) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // BloFin's order by its id or client order id (pending first, then
  // history); nullopt when BloFin does not know it.
  absl::StatusOr<std::optional<Order>> FetchOrder(absl::string_view key, absl::string_view value)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Brings the stored copy of `remote` (matched by client order id; inserted
  // when missing) up to date: its state and the fills not yet recorded, in one
  // transaction.
  absl::StatusOr<OrderResult> Sync(const Order& remote, const Instrument& instrument)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Instrument InstrumentOrGeneric(absl::string_view symbol) const;
  absl::StatusOr<std::optional<Order>> StoredOrder(const CancelRequest& request);

  const BlofinExchangeConfig config_;
  const Deps deps_;
  blofin::RestClient rest_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, bool> leverage_set_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::Time> last_sync_ ABSL_GUARDED_BY(mu_);
};

}  // namespace xctl
