// Order checks: the one place a trade request is validated before any
// exchange sees it, with one set of messages (docs/control.md, "Trade
// routing"). The gRPC service only parses the proto fields (numbers, enums,
// id formats); OrderRouter calls these; the exchanges then check what depends
// on the instrument and the account (lot and tick sizes, prices, margin:
// server/model/instruments.h, docs/exchanges.md).
#pragma once

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/control/strategy_info.h"
#include "server/model/types.h"

namespace xctl {

// Empty (the exchange assigns one) or 1-32 letters and digits.
[[nodiscard]] absl::Status CheckClientOrderId(absl::string_view id);

// What a new order must be whatever its strategy: quantity > 0, a price for
// priced types (limit, post_only, ioc, fok) and none for market orders, a
// well-formed client order id. INVALID_ARGUMENT naming the field.
[[nodiscard]] absl::Status CheckOrderRequest(const OrderRequest& request);

// A close: quantity > 0 when set (unset closes all), client order id format.
[[nodiscard]] absl::Status CheckCloseRequest(const CloseRequest& request);

// The strategy may trade now: running (FAILED_PRECONDITION otherwise).
[[nodiscard]] absl::Status CheckRunning(const StrategyInfo& info);

// `symbol` is one of the strategy's pairs (INVALID_ARGUMENT, reason
// SYMBOL_NOT_TRADED, naming them).
[[nodiscard]] absl::Status CheckTradedSymbol(const StrategyInfo& info, absl::string_view symbol);

// `other_mode_row`: an open row of the strategy in the order's symbol whose
// mode is not the strategy's current one. Present: FAILED_PRECONDITION
// (close it first), so the two modes never net against each other.
[[nodiscard]] absl::Status CheckNoOtherModeRow(const StrategyInfo& info,
                                               const std::optional<Position>& other_mode_row);

}  // namespace xctl
