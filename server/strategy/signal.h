// Signals as they arrive (SubmitSignal, the TradingView alert JSON): every
// field a plain string. ParseSignal checks them once, with errors that name
// the field, and yields the Signal a strategy acts on (strategy.h).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "server/strategy/strategy.h"

namespace xctl {

// The raw fields of SubmitSignalRequest.
struct SignalRequest {
  std::string strategy_id;
  // "buy", "sell" or "close", case-insensitive.
  std::string action;
  std::string symbol;
  // Contracts in plain notation; required for buy and sell, empty on close
  // closes the whole position.
  std::string quantity;
  // Optional limit price; empty means a market order.
  std::string price;
  // Must match the strategy's signal secret when one is set. Never logged.
  std::string secret;
  std::string client_order_id;
  std::string comment;
};

// Checks the fields that do not depend on the strategy: action, symbol form,
// quantity and price (plain decimals > 0). INVALID_ARGUMENT naming the field
// ("quantity: must be greater than 0, got \"-1\"").
[[nodiscard]] absl::StatusOr<Signal> ParseSignal(const SignalRequest& request);

// Replays. A signal without a client order id gets one derived from what it
// says and when (docs/strategies.md, "Replayed alerts"): "tv" and 30 hex
// digits of the SHA-256 of the strategy id, action, symbol, quantity, price
// (canonical decimals), comment and `minute` (UTC ms / 60000), so the same
// alert sent again within the window is answered from the store (`replayed`)
// and trades nothing. Alerts that differ (a {{timenow}} in the comment) get
// different ids.
inline constexpr int64_t kSignalReplayWindowMs = 60'000;
std::string DerivedSignalOrderId(absl::string_view strategy_id, const Signal& signal,
                                 int64_t minute);

}  // namespace xctl
