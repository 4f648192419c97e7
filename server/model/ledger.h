// Account ledger: the position arithmetic of every exchange's account (the
// PaperExchange's margin and fees, RecordFill of server/exchange/exchange_store.h
// for paper and live fills, mark to market in exchange control), pure and
// exact (Decimal, half-even rounding). Given the open position of a strategy
// in one symbol and a fill, it returns the rows to write: one-way (net) mode,
// averaging on adds, a partial close split into a closed row, a fill larger
// than the position closing it and opening the other side. It does no I/O and
// knows nothing of orders or the store; RecordFill persists what it returns
// inside the exchange's transaction.
//
// Formulas (docs/exchanges.md), each computed exactly and rounded once
// (half-even, 9 places):
//   notional   = price x quantity x contract value
//   margin     = notional / leverage
//   fee        = notional x fee rate                      (charged on every fill)
//   add        : open price = (p0 x q0 + p x q) / (q0 + q); fees += fee
//   close part : opening fee share = open fees x closed / q0
//                closing fee share = fill fee x closed / q (the rest opens the flip)
//                pnl = (close - open) x closed x cv x direction - both shares
//   cash       : balance += gross realized pnl - fill fee
// Shares are rounded half-even and the remainders obtained by subtraction, so
// fees are never created or lost by rounding.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/model/instruments.h"
#include "server/model/types.h"

namespace xctl::ledger {

struct LedgerFill {
  Side side = Side::kBuy;
  Decimal price;
  Decimal quantity;  // contracts, > 0
  Decimal fee;       // already computed for the whole fill
  int64_t time_ms = 0;
};

struct LedgerResult {
  // The open row after the fill, if any. Its id is the old open row's id when
  // that row stays open (added to or partly closed), 0 for a new row (first
  // open, or the flip side).
  std::optional<Position> open;
  // Rows closed by the fill: the old row itself when fully closed (its id
  // kept), or a new row (id 0) for the closed part of a partial close.
  std::vector<Position> closed;
  // Sum of `pnl` of the closed rows (net of fees).
  Decimal realized_pnl;
  // Change of the account's cash: gross realized pnl minus the fill's fee.
  Decimal balance_delta;
};

// The plain functions saturate at Decimal's range (docs/decimal.md,
// "Overflow"), which the order checks keep every accepted order far from;
// they are for rows already stored and for display. An order is checked with
// the Checked* functions below before anything is stored.

// fee = price x quantity x contract value x rate, one rounding.
Decimal Fee(Decimal price, Decimal quantity, const Instrument& instrument, Decimal rate);

// price x quantity x contract value, one rounding.
Decimal Notional(Decimal price, Decimal quantity, const Instrument& instrument);

// Initial margin of `quantity` at `price`: notional / leverage, one rounding
// (leverage <= 0 counts as 1).
Decimal Margin(Decimal price, Decimal quantity, const Instrument& instrument, Decimal leverage);

// Initial margin of an open row: Margin at its open price.
Decimal InitialMargin(const Position& position, const Instrument& instrument,
                      Decimal leverage);

// Unrealized pnl of an open row at `mark` (gross, before fees):
// (mark - open price) x quantity x contract value x direction, one rounding.
Decimal UnrealizedPnl(const Position& position, const Instrument& instrument, Decimal mark);

// The same with Decimal's checked arithmetic: INVALID_ARGUMENT naming the
// order's numbers when a result is beyond Decimal's range. (The notional:
// CheckedNotional in server/model/instruments.h.)
[[nodiscard]] absl::StatusOr<Decimal> CheckedFee(Decimal price, Decimal quantity,
                                                 const Instrument& instrument, Decimal rate);
[[nodiscard]] absl::StatusOr<Decimal> CheckedMargin(Decimal price, Decimal quantity,
                                                    const Instrument& instrument,
                                                    Decimal leverage);
[[nodiscard]] absl::StatusOr<Decimal> CheckedUnrealizedPnl(const Position& position,
                                                           const Instrument& instrument,
                                                           Decimal mark);

// Applies `fill` to `open` (the strategy's open row in the symbol, if any).
// `base` supplies strategy_id, symbol, mode and exchange for new rows.
LedgerResult ApplyFill(const std::optional<Position>& open, const Instrument& instrument,
                       const LedgerFill& fill, const Position& base);

// The quantity of a fill that increases exposure (the part that needs new
// margin): all of it when flat or adding, the flip remainder when reducing.
Decimal IncreasingQuantity(const std::optional<Position>& open, Side side, Decimal quantity);

}  // namespace xctl::ledger
