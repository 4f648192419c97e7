// Paper liquidation (docs/exchanges.md, "Paper liquidation"): paper
// positions are liquidated as BloFin would, so paper results are never
// kinder than the exchange.
//
// Maintenance margin of a position = its tier's maintenanceMarginRate
// (server/model/position_tiers.h; index.md, "GET Position Tiers") x its
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

#include "absl/container/flat_hash_map.h"
#include "server/model/types.h"

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

// What one position adds to the rule at its mark.
struct Contribution {
  Decimal unrealized;
  Decimal maintenance;
  Decimal initial;  // initial margin at the account's leverage
};
Contribution Contribute(const MarginedPosition& p, Decimal leverage);
// isolated: margin + unrealized pnl <= maintenance margin.
inline bool IsolatedDue(const Contribution& c) {
  return c.initial + c.unrealized <= c.maintenance;
}
// cross: balance + the positions' unrealized pnl <= their maintenance margin.
inline bool CrossDue(Decimal balance, Decimal unrealized_sum, Decimal maintenance_sum) {
  return balance + unrealized_sum <= maintenance_sum;
}

// What LiquidateLocked evaluates, read from the store only after the
// exchange wrote (`version` is PaperExchange's write counter), so a tick
// costs no database read while nothing changes. Marks, contributions and
// their sums are kept between ticks and updated for the ticked pair only,
// so a tick costs O(positions in that pair), not O(all positions): with
// 100 strategies x 100 pairs, a batch of 100 ticks would otherwise walk
// every position 100 times per strategy.
struct LiquidationSnapshot {
  uint64_t version = ~uint64_t{0};
  Decimal balance;
  std::vector<MarginedPosition> positions;
  std::vector<Contribution> contributions;  // per position, at its mark
  Decimal unrealized_sum;
  Decimal maintenance_sum;
  absl::flat_hash_map<std::string, std::vector<size_t>> by_symbol;  // into positions

  // Sets position i's mark and updates its contribution and the sums.
  void Mark(size_t i, Decimal mark, Decimal leverage);
};

// Indexes into `positions` of those to liquidate now (rule above), from
// scratch: the reference the incremental snapshot agrees with (tests).
std::vector<size_t> PositionsToLiquidate(const std::vector<MarginedPosition>& positions,
                                         Decimal balance, Decimal leverage, bool isolated);

}  // namespace xctl::paper
