#include "server/exchange/exchange_store.h"

#include "absl/strings/str_cat.h"
#include "server/common/log.h"

#include "server/common/status_macros.h"
#include "server/model/ledger.h"

namespace xctl {

absl::StatusOr<RecordedFill> RecordFill(Tx& tx, Order& order, Fill& fill,
                                        const Instrument& instrument,
                                        absl::string_view exchange) {
  XCTL_ASSIGN_OR_RETURN(std::optional<Position> open,
                        tx.positions().GetOpen(order.strategy_id, order.symbol));
  return RecordFill(tx, order, fill, instrument, exchange, open);
}

absl::StatusOr<RecordedFill> RecordFill(Tx& tx, Order& order, Fill& fill,
                                        const Instrument& instrument, absl::string_view exchange,
                                        const std::optional<Position>& open) {
  Position base;
  base.strategy_id = order.strategy_id;
  base.symbol = order.symbol;
  base.mode = order.mode;
  base.exchange = std::string(exchange);
  ledger::LedgerResult ledger = ledger::ApplyFill(
      open, instrument,
      ledger::LedgerFill{.side = order.side, .price = fill.price, .quantity = fill.quantity,
                        .fee = fill.fee, .time_ms = fill.time_ms},
      base);

  const Decimal filled = order.filled_quantity + fill.quantity;
  order.average_price =
      Decimal::Div(Decimal::Mul(order.average_price, order.filled_quantity) +
                       Decimal::Mul(fill.price, fill.quantity),
                   filled);
  order.filled_quantity = filled;
  order.fee = order.fee + fill.fee;
  order.update_time_ms = fill.time_ms;
  if (order.id == 0) {
    if (order.create_time_ms == 0) order.create_time_ms = fill.time_ms;
    XCTL_RETURN_IF_ERROR(tx.orders().Insert(&order));
  } else {
    XCTL_RETURN_IF_ERROR(tx.orders().Update(order));
  }
  fill.order_id = order.id;
  fill.strategy_id = order.strategy_id;
  fill.symbol = order.symbol;
  fill.side = order.side;
  fill.mode = order.mode;
  XCTL_RETURN_IF_ERROR(tx.fills().Insert(&fill));
  // TP/SL belong to an open position: a fill that opens or adds to it gives
  // it the order's (when the order has any); closed rows keep none.
  if (ledger.open && ledger.open->side == SideOpened(order.side) &&
      (order.take_profit || order.stop_loss)) {
    ledger.open->take_profit = order.take_profit;
    ledger.open->stop_loss = order.stop_loss;
  }
  // Closed rows first: a flip closes the old row before the new one opens
  // (one open row per strategy and symbol).
  for (Position& closed : ledger.closed) {
    closed.take_profit.reset();
    closed.stop_loss.reset();
    if (closed.id != 0) {
      XCTL_RETURN_IF_ERROR(tx.positions().Update(closed));
    } else {
      XCTL_RETURN_IF_ERROR(tx.positions().Insert(&closed));
    }
  }
  if (ledger.open) {
    if (ledger.open->id != 0) {
      XCTL_RETURN_IF_ERROR(tx.positions().Update(*ledger.open));
    } else {
      XCTL_RETURN_IF_ERROR(tx.positions().Insert(&*ledger.open));
    }
  }
  return RecordedFill{.closed = std::move(ledger.closed),
                      .open = std::move(ledger.open),
                      .balance_delta = ledger.balance_delta};
}

absl::StatusOr<OrderResult> ReplayedResult(Tx& tx, const Order& order) {
  OrderResult r{.order = order, .replayed = true};
  XCTL_ASSIGN_OR_RETURN(r.fills, tx.fills().ListByOrder(order.id));
  XCTL_ASSIGN_OR_RETURN(std::optional<Position> open,
                        tx.positions().GetOpen(order.strategy_id, order.symbol));
  if (open) r.open_positions.push_back(*open);
  return r;
}

absl::StatusOr<std::optional<Order>> FindOrder(Tx& tx, absl::string_view strategy_id,
                                               const CancelRequest& request) {
  if (request.order_id == 0) {
    return tx.orders().GetByClientOrderId(strategy_id, request.client_order_id);
  }
  auto got = tx.orders().Get(request.order_id);
  if (!got.ok()) {
    if (got.status().code() == absl::StatusCode::kNotFound) return std::nullopt;
    return got.status();
  }
  if (got->strategy_id != strategy_id) return std::nullopt;
  return *got;
}

absl::Status CheckCancelRequest(const CancelRequest& request) {
  if ((request.order_id != 0) == !request.client_order_id.empty()) {
    return absl::InvalidArgumentError("cancel takes exactly one of order id and client order id");
  }
  return absl::OkStatus();
}

std::string OrderName(const CancelRequest& request) {
  return request.order_id != 0 ? absl::StrCat("order ", request.order_id)
                               : absl::StrCat("order ", LogQuote(request.client_order_id));
}

}  // namespace xctl
