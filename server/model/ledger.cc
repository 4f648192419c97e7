#include "server/model/ledger.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace xctl::ledger {

namespace {

Decimal LeverageOrOne(Decimal leverage) {
  return leverage.is_positive() ? leverage : Decimal::FromInt(1);
}

}  // namespace

Decimal Notional(Decimal price, Decimal quantity, const Instrument& instrument) {
  return Decimal::Mul(price, quantity, instrument.contract_value);
}

Decimal Fee(Decimal price, Decimal quantity, const Instrument& instrument, Decimal rate) {
  return Decimal::Mul(price, quantity, instrument.contract_value, rate);
}

Decimal Margin(Decimal price, Decimal quantity, const Instrument& instrument, Decimal leverage) {
  return Decimal::MulDiv(price, quantity, instrument.contract_value, LeverageOrOne(leverage));
}

Decimal InitialMargin(const Position& position, const Instrument& instrument,
                      Decimal leverage) {
  return Margin(position.open_price, position.quantity, instrument, leverage);
}

Decimal UnrealizedPnl(const Position& position, const Instrument& instrument, Decimal mark) {
  Decimal gross = Notional(mark - position.open_price, position.quantity, instrument);
  return Direction(position.side) > 0 ? gross : -gross;
}

absl::StatusOr<Decimal> CheckedFee(Decimal price, Decimal quantity, const Instrument& instrument,
                                   Decimal rate) {
  absl::StatusOr<Decimal> fee =
      Decimal::CheckedMul(price, quantity, instrument.contract_value, rate);
  if (!fee.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the fee of ", quantity.ToString(), " ", instrument.symbol, " contracts at ",
        price.ToString(), " (rate ", rate.ToString(),
        ") is beyond the largest amount xctl counts (", Decimal::Max().ToString(), ")"));
  }
  return fee;
}

absl::StatusOr<Decimal> CheckedMargin(Decimal price, Decimal quantity,
                                      const Instrument& instrument, Decimal leverage) {
  leverage = LeverageOrOne(leverage);
  absl::StatusOr<Decimal> margin =
      Decimal::CheckedMulDiv(price, quantity, instrument.contract_value, leverage);
  if (!margin.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the initial margin of ", quantity.ToString(), " ", instrument.symbol,
        " contracts at ", price.ToString(), " and ", leverage.ToString(),
        "x leverage is beyond the largest amount xctl counts (", Decimal::Max().ToString(),
        ")"));
  }
  return margin;
}

absl::StatusOr<Decimal> CheckedUnrealizedPnl(const Position& position,
                                             const Instrument& instrument, Decimal mark) {
  absl::StatusOr<Decimal> move = Decimal::CheckedSub(mark, position.open_price);
  absl::StatusOr<Decimal> gross =
      move.ok() ? Decimal::CheckedMul(*move, position.quantity, instrument.contract_value)
                : move;
  if (!gross.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the unrealized pnl of the ", ToString(position.side), " position of ",
        position.quantity.ToString(), " ", position.symbol, " contracts opened at ",
        position.open_price.ToString(), " is beyond the largest amount xctl counts at mark ",
        mark.ToString()));
  }
  return Direction(position.side) > 0 ? *gross : -*gross;
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
    // Quantity-weighted average: (p0 q0 + p q) / (q0 + q), one rounding
    // (between p0 and p, so never beyond the range).
    p.open_price =
        Decimal::WeightedAverage(p.open_price, p.quantity, fill.price, fill.quantity);
    p.quantity = p.quantity + fill.quantity;
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

}  // namespace xctl::ledger
