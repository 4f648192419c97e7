// The store operations every exchange shares, so paper and live strategies
// keep the same rows and answer retries and cancels the same way.
//
// RecordFill: writes one fill into the store the same way for every exchange,
// so paper and live strategies keep the same order, fill and position rows
// (and so the same KPIs). Inside the caller's transaction it updates the
// order's filled quantity, average price and fee (inserting the order when it
// has no id yet), inserts the fill, and applies it to the strategy's position
// rows through the ledger (server/model/ledger.h): one-way netting, partial-close
// split, flip. A fill that opens or adds to a position gives the position the
// order's take-profit and stop-loss (when the order has any); closed rows
// keep none. The caller sets the order's status and its account.
#pragma once

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/exchange/exchange.h"
#include "server/model/types.h"
#include "server/store/store.h"

namespace xctl {

struct RecordedFill {
  // Position rows the fill closed (a partial close adds a closed row).
  std::vector<Position> closed;
  // The open row after the fill, if any.
  std::optional<Position> open;
  // Cash change of the account: gross realized pnl minus the fill's fee.
  Decimal balance_delta;
};

// `order` and `fill` are updated with their store ids. `exchange` is "paper"
// or "blofin"; the mode is taken from the order.
[[nodiscard]] absl::StatusOr<RecordedFill> RecordFill(Tx& tx, Order& order, Fill& fill,
                                                      const Instrument& instrument,
                                                      absl::string_view exchange);
// The same, for a caller that has read the strategy's open row in the
// order's symbol in this transaction already (`open`, nullopt: none): it is
// not read again.
[[nodiscard]] absl::StatusOr<RecordedFill> RecordFill(Tx& tx, Order& order, Fill& fill,
                                                      const Instrument& instrument,
                                                      absl::string_view exchange,
                                                      const std::optional<Position>& open);

// The stored result of `order` for a retry with its client order id: the
// order, its fills and the strategy's open row in its symbol; `replayed` set.
[[nodiscard]] absl::StatusOr<OrderResult> ReplayedResult(Tx& tx, const Order& order);

// The order a cancel names (exactly one of id and client order id), if it
// belongs to `strategy_id`; nullopt otherwise.
[[nodiscard]] absl::StatusOr<std::optional<Order>> FindOrder(Tx& tx,
                                                            absl::string_view strategy_id,
                                                            const CancelRequest& request);

// INVALID_ARGUMENT unless exactly one of id and client order id is set.
[[nodiscard]] absl::Status CheckCancelRequest(const CancelRequest& request);

// "order 12" or "order \"my-id\"", for messages.
std::string OrderName(const CancelRequest& request);

}  // namespace xctl
