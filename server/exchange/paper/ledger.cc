#include "server/exchange/paper/ledger.h"

#include <algorithm>

namespace xctl::paper {

Decimal Notional(Decimal price, Decimal quantity, const Instrument& instrument) {
  return Decimal::Mul(Decimal::Mul(price, quantity), instrument.contract_value);
}

Decimal Fee(Decimal price, Decimal quantity, const Instrument& instrument, Decimal rate) {
  // price x quantity x contract value is exact at 9 places for BloFin's tick,
  // lot and contract sizes; only the product with the rate rounds (half-even).
  return Decimal::Mul(Notional(price, quantity, instrument), rate);
}

Decimal InitialMargin(const Position& position, const Instrument& instrument,
                      Decimal leverage) {
  if (!leverage.is_positive()) leverage = Decimal::FromInt(1);
  return Decimal::Div(Notional(position.open_price, position.quantity, instrument), leverage);
}

Decimal UnrealizedPnl(const Position& position, const Instrument& instrument, Decimal mark) {
  Decimal gross = Notional(mark - position.open_price, position.quantity, instrument);
  return Direction(position.side) > 0 ? gross : -gross;
}

Decimal IncreasingQuantity(const std::optional<Position>& open, Side side, Decimal quantity) {
  if (!open || open->side == SideOpened(side)) return quantity;
  return quantity > open->quantity ? quantity - open->quantity : Decimal();
}

LedgerResult ApplyFill(const std::optional<Position>& open, const Instrument& instrument,
                       const LedgerFill& fill, const Position& base) {
  LedgerResult r;
  const PositionSide fill_side = SideOpened(fill.side);

  auto new_row = [&](Decimal qty, Decimal fees) {
    Position p = base;
    p.id = 0;
    p.side = fill_side;
    p.open_time_ms = fill.time_ms;
    p.close_time_ms.reset();
    p.open_price = fill.price;
    p.close_price.reset();
    p.quantity = qty;
    p.status = PositionStatus::kOpen;
    p.pnl.reset();
    p.fees = fees;
    return p;
  };

  if (!open || open->side == fill_side) {
    r.balance_delta = -fill.fee;
    if (!open) {
      r.open = new_row(fill.quantity, fill.fee);
      return r;
    }
    Position p = *open;
    Decimal total = p.quantity + fill.quantity;
    // Quantity-weighted average: (p0 q0 + p q) / (q0 + q), one rounding.
    Decimal weighted_units = Decimal::Mul(p.open_price, p.quantity) +
                             Decimal::Mul(fill.price, fill.quantity);
    p.open_price = Decimal::Div(weighted_units, total);
    p.quantity = total;
    p.fees += fill.fee;
    r.open = p;
    return r;
  }

  // Reducing, closing or flipping.
  const Decimal closed_qty = std::min(fill.quantity, open->quantity);
  const Decimal rest_of_fill = fill.quantity - closed_qty;
  const Decimal opening_share =
      closed_qty == open->quantity ? open->fees
                                   : Decimal::MulDiv(open->fees, closed_qty, open->quantity);
  const Decimal closing_share =
      rest_of_fill.is_zero() ? fill.fee : Decimal::MulDiv(fill.fee, closed_qty, fill.quantity);
  Decimal gross = Notional(fill.price - open->open_price, closed_qty, instrument);
  if (Direction(open->side) < 0) gross = -gross;

  Position closed = *open;
  closed.quantity = closed_qty;
  closed.status = PositionStatus::kClosed;
  closed.close_time_ms = fill.time_ms;
  closed.close_price = fill.price;
  closed.fees = opening_share + closing_share;
  closed.pnl = gross - closed.fees;
  if (closed_qty < open->quantity) {
    closed.id = 0;  // the closed part is a new row; the open row keeps its id
    Position rest = *open;
    rest.quantity = open->quantity - closed_qty;
    rest.fees = open->fees - opening_share;
    r.open = rest;
  }
  r.closed.push_back(closed);
  r.realized_pnl = *closed.pnl;
  r.balance_delta = gross - fill.fee;
  if (rest_of_fill.is_positive()) {
    r.open = new_row(rest_of_fill, fill.fee - closing_share);
  }
  return r;
}

}  // namespace xctl::paper
