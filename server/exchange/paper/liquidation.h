// Paper liquidation (docs/exchanges.md, "Paper liquidation"): paper
// positions are liquidated as BloFin would, so paper results are never
// kinder than the exchange.
//
// Maintenance margin of a position = its tier's maintenanceMarginRate
// (server/exchange/position_tiers.h; index.md, "GET Position Tiers") x its
// notional at the mark (the tick's last price). The docs describe the fields
// (index.md, "GET Positions": maintenanceMargin, liquidationPrice,
// marginRatio) but not the rule, so xctl applies the standard one and errs
// against the trader where the docs are silent:
//   isolated: a position is liquidated when its margin (initial margin at
//             the account's leverage) + unrealized pnl <= maintenance margin;
//   cross:    every open position is liquidated when the account's equity
//             (balance + unrealized pnl of all positions) <= the sum of their
//             maintenance margins (which BloFin closes first is not
//             documented; the least convenient assumption: all of them).
// A liquidation is a reduce-only market order with client order id
// "liq-<position id>", filled at the tick's price as a taker (taker fee),
// recorded like any order (order, fill, closed row with pnl), logged and
// published on the position feed. The loss never takes the balance below
// what BloFin leaves: for isolated the balance before the liquidation minus
// the position's margin, for cross zero (the rest is the exchange's
// insurance fund's, not the account's).
//
// PaperExchange::LiquidateLocked (liquidation.cc) runs on every tick while
// positions are open.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "server/exchange/types.h"

namespace xctl::paper {

inline constexpr char kLiquidationClientPrefix[] = "liq-";

// One open position as the liquidation rule sees it.
struct MarginedPosition {
  Position position;
  Instrument instrument;
  Decimal mark;
  Decimal maintenance_rate;
};

// maintenance rate x notional at the mark, one rounding.
Decimal MaintenanceMargin(const MarginedPosition& p);

// What LiquidateLocked evaluates, read from the store only after the
// exchange wrote (`version` is PaperExchange's write counter), so a tick
// costs no database read while nothing changes.
struct LiquidationSnapshot {
  uint64_t version = ~uint64_t{0};
  Decimal balance;
  std::vector<MarginedPosition> positions;  // marks filled in per tick
};

// Indexes into `positions` of those to liquidate now (rule above).
std::vector<size_t> PositionsToLiquidate(const std::vector<MarginedPosition>& positions,
                                         Decimal balance, Decimal leverage, bool isolated);

}  // namespace xctl::paper
