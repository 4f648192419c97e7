// KPI accounting: the performance figures of a set of strategies (one
// strategy, one strategy type, or all), kept incrementally. Closed trades are
// added once each (O(1)); every mark to market updates unrealized PnL and the
// equity curve (O(1) amortized); Snapshot() derives the ratios. Nothing here
// rescans trades on a tick. docs/kpis.md gives every formula.
//
// Not thread-safe: exchange control owns one KpiAccumulator per scope and
// serializes access.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "server/common/decimal.h"

namespace xctl {

// One closed position row.
struct ClosedTrade {
  Decimal pnl;  // realized, net of fees
  Decimal fees;
  int64_t open_time_ms = 0;
  int64_t close_time_ms = 0;
};

struct ExposureFigure {
  std::string symbol;
  Decimal quantity;  // signed contracts
  Decimal notional;  // absolute, at the mark
};

struct KpiFigures {
  Decimal starting_balance;
  Decimal realized_pnl;
  Decimal unrealized_pnl;
  Decimal total_pnl;
  Decimal fees_paid;
  Decimal equity;
  std::optional<Decimal> return_fraction;
  int64_t closed_trades = 0;
  std::optional<Decimal> win_rate;
  std::optional<Decimal> average_win;
  std::optional<Decimal> average_loss;
  std::optional<Decimal> largest_win;
  std::optional<Decimal> largest_loss;
  std::optional<Decimal> profit_factor;
  std::optional<Decimal> expectancy;
  std::optional<int64_t> average_holding_ms;
  Decimal max_drawdown;
  std::optional<Decimal> max_drawdown_fraction;
  std::optional<Decimal> sharpe_ratio;
  std::optional<Decimal> sortino_ratio;
  std::optional<Decimal> calmar_ratio;
  std::vector<ExposureFigure> open_exposure;
  int64_t open_positions = 0;
  // Funding settled (signed: negative = paid; docs/kpis.md). Part of equity,
  // not of any trade's pnl.
  Decimal funding;
  // Live only: the account's balance as read from BloFin minus what the
  // recorded fills, fees and computed funding explain (0 on paper).
  Decimal unexplained;
  // Positions closed by liquidation (paper; they are trades too).
  int64_t liquidations = 0;
};

class KpiAccumulator {
 public:
  explicit KpiAccumulator(Decimal starting_balance = Decimal())
      : starting_balance_(starting_balance) {}

  // Adds to the starting balance (aggregates sum their members' balances).
  void AddStartingBalance(Decimal amount) { starting_balance_ += amount; }

  // Records a closed trade: realized PnL, fees, win/loss statistics.
  void AddClosedTrade(const ClosedTrade& trade);

  // Fees charged on fills of positions that are still open (already paid,
  // part of fees_paid; they become part of a trade's pnl when it closes).
  void AddOpenFees(Decimal fees) { open_fees_ += fees; }
  void RemoveOpenFees(Decimal fees) { open_fees_ -= fees; }

  // Funding settled at `time_ms` (signed: negative = paid): changes equity
  // and appends it to the curve.
  void AddFunding(int64_t time_ms, Decimal amount);
  // The live account's unattributed difference (docs/kpis.md); replaces the
  // previous figure. Aggregates are given their members' sum.
  void SetUnexplained(Decimal amount) { unexplained_ = amount; }
  void AddLiquidations(int64_t n) { liquidations_ += n; }

  // Sets the open-position view after a mark to market: unrealized PnL
  // (gross, before the open rows' fees), exposure per symbol and count; then
  // appends the equity at `time_ms` to the equity curve.
  void Mark(int64_t time_ms, Decimal gross_unrealized,
            std::vector<ExposureFigure> exposure, int64_t open_positions);
  // The same without exposure, for owners that keep exposure themselves and
  // put it into the snapshot's open_exposure.
  void Mark(int64_t time_ms, Decimal gross_unrealized, int64_t open_positions);

  // The figures now.
  KpiFigures Snapshot() const;

 private:
  Decimal Equity() const;
  void RecordEquity(int64_t time_ms, Decimal equity);

  Decimal starting_balance_;
  Decimal realized_;
  Decimal closed_fees_;
  Decimal open_fees_;
  Decimal gross_unrealized_;
  Decimal funding_;
  Decimal unexplained_;
  int64_t liquidations_ = 0;
  int64_t closed_trades_ = 0;
  int64_t wins_ = 0;
  int64_t losses_ = 0;
  Decimal sum_wins_;
  Decimal sum_losses_;  // negative
  std::optional<Decimal> largest_win_;
  std::optional<Decimal> largest_loss_;
  int64_t total_holding_ms_ = 0;
  std::vector<ExposureFigure> exposure_;
  int64_t open_positions_ = 0;

  // Equity curve: running peak and worst drawdown, and the equity at the end
  // of each UTC day (day number -> equity) for daily returns.
  std::optional<Decimal> peak_;
  Decimal max_drawdown_;
  std::optional<Decimal> max_drawdown_fraction_;
  std::map<int64_t, Decimal> day_close_;
  std::optional<int64_t> first_time_ms_;
  int64_t last_time_ms_ = 0;
};

}  // namespace xctl
