#include "server/exchange/fill_record.h"

#include "server/common/status_macros.h"
#include "server/exchange/paper/ledger.h"

namespace xctl {

absl::StatusOr<RecordedFill> RecordFill(Tx& tx, Order& order, Fill& fill,
                                        const Instrument& instrument,
                                        absl::string_view exchange) {
  XCTL_ASSIGN_OR_RETURN(std::optional<Position> open,
                        tx.positions().GetOpen(order.strategy_id, order.symbol));
  Position base;
  base.strategy_id = order.strategy_id;
  base.symbol = order.symbol;
  base.mode = order.mode;
  base.exchange = std::string(exchange);
  paper::LedgerResult ledger = paper::ApplyFill(
      open, instrument,
      paper::LedgerFill{.side = order.side, .price = fill.price, .quantity = fill.quantity,
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
  // Closed rows first: a flip closes the old row before the new one opens
  // (one open row per strategy and symbol).
  for (Position& closed : ledger.closed) {
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

}  // namespace xctl
