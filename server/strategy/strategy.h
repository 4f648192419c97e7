// Strategy: the interface of one running strategy instance, and the narrow
// context it trades through. An instance is built by the StrategyRegistry
// from a strategy's record (type, pairs, params) and driven by the
// StrategyManager: price-driven types receive every tick of their pairs
// (OnTick), signal-driven types receive SubmitSignal (OnSignal). An instance
// never sees the store, the credentials or another strategy: it can only
// trade under its own id through StrategyContext.
//
// The manager calls one instance from one thread at a time (ticks and signals
// are serialized per strategy), so an instance needs no locking of its own.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/control/strategy_info.h"
#include "server/exchange/exchange.h"
#include "server/price/tick.h"
#include "server/strategy/trade_lanes.h"

namespace xctl {

// What a signal asks for.
enum class SignalAction { kBuy, kSell, kClose };

// "buy", "sell", "close".
inline absl::string_view ToString(SignalAction action) {
  switch (action) {
    case SignalAction::kBuy: return "buy";
    case SignalAction::kSell: return "sell";
    case SignalAction::kClose: return "close";
  }
  return "unknown";
}

// A parsed SubmitSignal (a TradingView alert): the fields are checked by
// ParseSignal (signal.h) before a strategy sees them.
struct Signal {
  SignalAction action = SignalAction::kBuy;
  // BloFin instrument id, one of the strategy's pairs.
  std::string symbol;
  // Contracts, > 0. Required for buy and sell; for close, nullopt closes all.
  std::optional<Decimal> quantity;
  // Limit price, > 0; nullopt means a market order.
  std::optional<Decimal> price;
  // The caller's idempotency key; empty lets exchange control pick one.
  std::string client_order_id;
  // Free text for the log.
  std::string comment;
};

// The only way a strategy trades: every call is made under the strategy's
// own id, through exchange control (StrategyTrading), which validates it
// (running strategy, one of its pairs, lot and tick sizes).
class StrategyContext {
 public:
  // `lanes` null: Trade runs its work at once, on the caller's thread.
  StrategyContext(std::string strategy_id, StrategyTrading* trading,
                  TradeLanes* lanes = nullptr)
      : strategy_id_(std::move(strategy_id)), trading_(trading), lanes_(lanes) {}

  const std::string& strategy_id() const { return strategy_id_; }

  // Runs `work` on this strategy's trading lane (server/strategy/trade_lanes.h):
  // after the strategy's earlier trading work, on another thread than the
  // price ticks, so deciding on a tick never waits for an order of this or
  // another strategy. Price-driven strategies decide in OnTick and place their
  // orders here; `work` gets a context of its own and must not use the
  // strategy's mutable state (OnTick may run meanwhile).
  void Trade(std::function<void(StrategyContext&)> work) {
    if (!lanes_) {
      work(*this);
      return;
    }
    lanes_->Post(strategy_id_, [id = strategy_id_, trading = trading_,
                                work = std::move(work)] {
      StrategyContext context(id, trading);
      work(context);
    });
  }

  // Places an order; `request.strategy_id` is overwritten with this
  // strategy's id.
  [[nodiscard]] absl::StatusOr<OrderResult> PlaceOrder(OrderRequest request) {
    request.strategy_id = strategy_id_;
    return trading_->PlaceOrder(request);
  }

  // Closes all (quantity unset) or part of the open position in a symbol.
  [[nodiscard]] absl::StatusOr<OrderResult> ClosePosition(const CloseRequest& request) {
    return trading_->ClosePosition(strategy_id_, request);
  }

  // This strategy's open positions.
  [[nodiscard]] absl::StatusOr<std::vector<Position>> OpenPositions() {
    return trading_->OpenPositions(strategy_id_);
  }

 private:
  const std::string strategy_id_;
  StrategyTrading* const trading_;
  TradeLanes* const lanes_;
};

class Strategy {
 public:
  virtual ~Strategy() = default;

  // The registered type name ("sma_cross").
  virtual absl::string_view type() const = 0;

  // True when the strategy wants the ticks of its pairs (OnTick).
  virtual bool price_driven() const { return false; }

  // True when the strategy acts on SubmitSignal (OnSignal).
  virtual bool signal_driven() const { return false; }

  // A new price of one of the strategy's pairs (price-driven types). Errors
  // from trading are the strategy's to log; an exception marks the strategy
  // FAILED and stops it.
  virtual void OnTick(const Tick& tick, StrategyContext& context) {}

  // A signal (signal-driven types). Returns what was traded.
  virtual absl::StatusOr<OrderResult> OnSignal(const Signal& signal, StrategyContext& context) {
    return absl::FailedPreconditionError(
        absl::StrCat("strategy type ", type(), " takes no signals"));
  }
};

}  // namespace xctl
