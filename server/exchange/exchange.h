// Exchange: the one trading contract that the live BloFin exchange and the
// PaperExchange both implement, so exchange control can hold either per
// strategy. One Exchange object serves exactly one strategy (its id is given
// at construction); requests for another strategy are refused.
//
// Errors are absl::Status with a message a person can act on:
//   INVALID_ARGUMENT     the request is malformed (lot/tick size, missing price)
//   FAILED_PRECONDITION  the request is valid but cannot be done now
//                        (stale price, not enough margin, nothing to close,
//                        client order id reused for a different order)
//   NOT_FOUND            unknown order or instrument
//   UNAVAILABLE          the exchange or the database cannot be reached;
//                        retrying with the same client order id is safe
//   RESOURCE_EXHAUSTED   rate limited
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/model/funding_payment.h"
#include "server/model/types.h"
#include "server/price/tick.h"

namespace xctl {

// What a trading call did: the order in its latest state, the fills it made
// now, and the position rows it closed (a partial close splits a row: the
// closed part is here) and left open or opened.
struct OrderResult {
  Order order;
  std::vector<Fill> fills;
  std::vector<Position> closed_positions;
  std::vector<Position> open_positions;
  // True when the client order id was seen before and this is the stored
  // result of the first call; nothing was traded now.
  bool replayed = false;
  // Funding settled now (recorded in the store and, on paper, applied to the
  // account's balance before the call returned). Usually with no order.
  std::vector<FundingPayment> funding;
  // True when `order` is a liquidation the exchange made (paper:
  // server/exchange/paper/liquidation.h).
  bool liquidation = false;
  // The account as just read from the exchange (live), so KPIs can show
  // what the recorded fills, fees and funding do not explain.
  std::optional<Account> account;
};

struct CancelRequest {
  // Exactly one of the two.
  int64_t order_id = 0;
  std::string client_order_id;
};

struct CloseRequest {
  std::string symbol;
  // Contracts to close; nullopt closes the whole position.
  std::optional<Decimal> quantity;
  std::string client_order_id;
};

// What a reconciliation with the exchange changed in the store.
struct ReconcileReport {
  int orders_adopted = 0;
  int orders_closed = 0;
  int positions_adopted = 0;
  int positions_closed = 0;
  // One line per change, for a person to read.
  std::vector<std::string> changes;
};

class Exchange {
 public:
  virtual ~Exchange() = default;

  // "paper" or "blofin".
  virtual absl::string_view name() const = 0;
  virtual TradingMode mode() const = 0;
  virtual const std::string& strategy_id() const = 0;

  // Places an order. Market orders fill at once (paper) or are sent (live);
  // limit orders rest until the price crosses them. A client order id seen
  // before returns the stored result with `replayed` set.
  [[nodiscard]] virtual absl::StatusOr<OrderResult> PlaceOrder(
      const OrderRequest& request) = 0;

  // Cancels a resting order. Cancelling a terminal order is
  // FAILED_PRECONDITION naming its status.
  [[nodiscard]] virtual absl::StatusOr<Order> CancelOrder(
      const CancelRequest& request) = 0;

  // Closes all or part of the open position in a symbol with a reduce-only
  // market order. FAILED_PRECONDITION when there is no open position or the
  // quantity exceeds it.
  [[nodiscard]] virtual absl::StatusOr<OrderResult> ClosePosition(
      const CloseRequest& request) = 0;

  // Resting (open or partially filled) orders.
  [[nodiscard]] virtual absl::StatusOr<std::vector<Order>> OpenOrders() = 0;

  // Open positions.
  [[nodiscard]] virtual absl::StatusOr<std::vector<Position>> Positions() = 0;

  // The account: balance, margin in use, leverage.
  [[nodiscard]] virtual absl::StatusOr<Account> Balance() = 0;

  // Contract specification of a symbol (lot size, tick size, ...).
  [[nodiscard]] virtual absl::StatusOr<Instrument> GetInstrument(
      absl::string_view symbol) = 0;

  // Called by exchange control with every new price of a symbol the strategy
  // trades, on the price bus's dispatcher thread. Paper: fills the resting
  // limit orders the price crosses (committed before it returns). Live: may
  // refresh the state of resting orders from the exchange (rate-limited).
  // Returns what changed (orders filled, position rows opened or closed), so
  // exchange control can publish it; errors are logged by the exchange.
  virtual std::vector<OrderResult> OnTick(const Tick& tick) { return {}; }
  // False when OnTick would do nothing now (paper: no resting order), so
  // exchange control skips the call. Cheap and lock-free.
  virtual bool NeedsTicks() const { return true; }

  // Results that came in between calls (live: what BloFin's private
  // WebSocket pushed, blofin_push.cc), handed to exchange control at once
  // instead of on the next tick (docs/control.md, "Pushed results").
  // Exchange control installs `ready` once, right after it registered the
  // exchange; the exchange calls it whenever TakeResults has something new
  // (and at once from SetResultsReady when something is waiting already),
  // from any thread, with none of its own locks held. `ready` only queues
  // the strategy for exchange control's worker, which then calls TakeResults
  // on its own thread; it never calls back into the exchange. Null removes
  // it. Paper: every change is a call's or a tick's result, nothing to do.
  using ResultsReady = std::function<void()>;
  virtual void SetResultsReady(ResultsReady ready) {}
  // The results waiting, each returned once (here or by OnTick, whichever
  // comes first), in the order they were made. Never waits on the exchange.
  [[nodiscard]] virtual std::vector<OrderResult> TakeResults() { return {}; }

  // Brings the store in line with the exchange: orders and positions the
  // exchange has and the store lacks are adopted, those the store has and the
  // exchange lacks are closed or cancelled; each change is logged. Paper: the
  // store is the exchange, nothing to do.
  [[nodiscard]] virtual absl::StatusOr<ReconcileReport> Reconcile() { return ReconcileReport{}; }
};

}  // namespace xctl
