#include "server/control/kpis.h"

#include <algorithm>
#include <cmath>

namespace xctl {
namespace {

constexpr int64_t kDayMs = 86'400'000;

// Ratios of a statistical nature go through double and back to Decimal,
// rounded to 9 places; NaN/Inf become "unset".
std::optional<Decimal> FromRatio(double v) {
  if (!std::isfinite(v) || std::fabs(v) > 9e9) return std::nullopt;
  return Decimal::FromUnits(static_cast<int64_t>(std::llround(v * Decimal::kOne)));
}

int64_t DayOf(int64_t ms) { return ms >= 0 ? ms / kDayMs : (ms - kDayMs + 1) / kDayMs; }

}  // namespace

void KpiAccumulator::AddClosedTrade(const ClosedTrade& trade) {
  ++closed_trades_;
  realized_ += trade.pnl;
  closed_fees_ += trade.fees;
  total_holding_ms_ += trade.close_time_ms - trade.open_time_ms;
  if (trade.pnl.is_positive()) {
    ++wins_;
    sum_wins_ += trade.pnl;
    if (!largest_win_ || trade.pnl > *largest_win_) largest_win_ = trade.pnl;
  } else if (trade.pnl.is_negative()) {
    ++losses_;
    sum_losses_ += trade.pnl;
    if (!largest_loss_ || trade.pnl < *largest_loss_) largest_loss_ = trade.pnl;
  }
  RecordEquity(std::max(trade.close_time_ms, last_time_ms_), Equity());
}

void KpiAccumulator::AddFunding(int64_t time_ms, Decimal amount) {
  funding_ += amount;
  RecordEquity(std::max(time_ms, last_time_ms_), Equity());
}

void KpiAccumulator::Mark(int64_t time_ms, Decimal gross_unrealized,
                          std::vector<ExposureFigure> exposure,
                          int64_t open_positions) {
  gross_unrealized_ = gross_unrealized;
  exposure_ = std::move(exposure);
  open_positions_ = open_positions;
  RecordEquity(time_ms, Equity());
}

void KpiAccumulator::Mark(int64_t time_ms, Decimal gross_unrealized, int64_t open_positions) {
  gross_unrealized_ = gross_unrealized;
  open_positions_ = open_positions;
  RecordEquity(time_ms, Equity());
}

Decimal KpiAccumulator::Equity() const {
  return starting_balance_ + realized_ - open_fees_ + funding_ + unexplained_ +
         gross_unrealized_;
}

void KpiAccumulator::RecordEquity(int64_t time_ms, Decimal equity) {
  if (!first_time_ms_) first_time_ms_ = time_ms;
  last_time_ms_ = std::max(last_time_ms_, time_ms);
  if (!peak_) peak_ = starting_balance_;  // the curve starts at the capital
  if (equity > *peak_) peak_ = equity;
  Decimal drawdown = *peak_ - equity;
  if (drawdown > max_drawdown_) {
    max_drawdown_ = drawdown;
    if (peak_->is_positive()) max_drawdown_fraction_ = Decimal::Div(drawdown, *peak_);
  }
  day_close_[DayOf(time_ms)] = equity;
}

KpiFigures KpiAccumulator::Snapshot() const {
  KpiFigures k;
  k.starting_balance = starting_balance_;
  k.realized_pnl = realized_;
  k.unrealized_pnl = gross_unrealized_ - open_fees_;
  k.total_pnl = k.realized_pnl + k.unrealized_pnl;
  k.fees_paid = closed_fees_ + open_fees_;
  k.funding = funding_;
  k.unexplained = unexplained_;
  k.liquidations = liquidations_;
  k.equity = Equity();
  if (starting_balance_.is_positive()) {
    // The account's change: trading pnl, funding and (live) the unexplained.
    k.return_fraction = Decimal::Div(k.equity - starting_balance_, starting_balance_);
  }
  k.closed_trades = closed_trades_;
  if (closed_trades_ > 0) {
    Decimal n = Decimal::FromInt(closed_trades_);
    k.win_rate = Decimal::Div(Decimal::FromInt(wins_), n);
    k.expectancy = Decimal::Div(realized_, n);
    k.average_holding_ms = total_holding_ms_ / closed_trades_;
  }
  if (wins_ > 0) k.average_win = Decimal::Div(sum_wins_, Decimal::FromInt(wins_));
  if (losses_ > 0) {
    k.average_loss = Decimal::Div(sum_losses_, Decimal::FromInt(losses_));
    k.profit_factor = Decimal::Div(sum_wins_, sum_losses_.Abs());
  }
  k.largest_win = largest_win_;
  k.largest_loss = largest_loss_;
  k.max_drawdown = max_drawdown_;
  k.max_drawdown_fraction = max_drawdown_fraction_;
  if (max_drawdown_.is_zero() && peak_) k.max_drawdown_fraction = Decimal();
  k.open_exposure = exposure_;
  k.open_positions = open_positions_;

  // Daily returns from end-of-day equity; days with no sample carry the
  // previous close; the first day's return is against the starting balance.
  if (!day_close_.empty() && starting_balance_.is_positive()) {
    std::vector<double> returns;
    double previous = starting_balance_.ToDouble();
    int64_t first_day = day_close_.begin()->first;
    int64_t last_day = day_close_.rbegin()->first;
    auto it = day_close_.begin();
    double close = previous;
    for (int64_t day = first_day; day <= last_day; ++day) {
      if (it != day_close_.end() && it->first == day) {
        close = it->second.ToDouble();
        ++it;
      }
      returns.push_back(previous > 0 ? close / previous - 1.0 : 0.0);
      previous = close;
    }
    size_t n = returns.size();
    if (n >= 2) {
      double mean = 0;
      for (double r : returns) mean += r;
      mean /= n;
      double var = 0, downside = 0;
      for (double r : returns) {
        var += (r - mean) * (r - mean);
        if (r < 0) downside += r * r;
      }
      double sd = std::sqrt(var / (n - 1));
      double dd = std::sqrt(downside / n);
      if (sd > 0) k.sharpe_ratio = FromRatio(mean / sd * std::sqrt(365.0));
      if (dd > 0) k.sortino_ratio = FromRatio(mean / dd * std::sqrt(365.0));
    }
    // Calmar: annualised return over the curve's span / max drawdown fraction.
    double days = static_cast<double>(last_time_ms_ - *first_time_ms_) / kDayMs;
    if (days >= 1.0 && k.max_drawdown_fraction &&
        k.max_drawdown_fraction->is_positive()) {
      double growth = k.equity.ToDouble() / starting_balance_.ToDouble();
      if (growth > 0) {
        double annual = std::pow(growth, 365.0 / days) - 1.0;
        k.calmar_ratio = FromRatio(annual / k.max_drawdown_fraction->ToDouble());
      }
    }
  }
  return k;
}

}  // namespace xctl
