#include "server/control/kpis.h"

#include "gtest/gtest.h"

namespace xctl {
namespace {

Decimal D(absl::string_view s) { return Decimal::Parse(s).value(); }
constexpr int64_t kHour = 3'600'000;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kT0 = 1'700'006'400'000;  // 2023-11-15T00:00:00Z, a day start

ClosedTrade Trade(absl::string_view pnl, absl::string_view fees, int64_t hours) {
  return {.pnl = D(pnl), .fees = D(fees), .open_time_ms = kT0,
          .close_time_ms = kT0 + hours * kHour};
}

TEST(Kpis, ZeroTradesLeaveRatiosUnset) {
  KpiAccumulator acc(D("1000"));
  KpiFigures k = acc.Snapshot();
  EXPECT_EQ(k.equity, D("1000"));
  EXPECT_EQ(k.total_pnl, D("0"));
  EXPECT_EQ(k.return_fraction, D("0"));
  EXPECT_EQ(k.closed_trades, 0);
  EXPECT_FALSE(k.win_rate.has_value());
  EXPECT_FALSE(k.expectancy.has_value());
  EXPECT_FALSE(k.profit_factor.has_value());
  EXPECT_FALSE(k.average_holding_ms.has_value());
  EXPECT_FALSE(k.sharpe_ratio.has_value());
  EXPECT_FALSE(k.calmar_ratio.has_value());
}

TEST(Kpis, AllWins) {
  KpiAccumulator acc(D("1000"));
  acc.AddClosedTrade(Trade("10", "1", 1));
  acc.AddClosedTrade(Trade("30", "1", 3));
  KpiFigures k = acc.Snapshot();
  EXPECT_EQ(k.realized_pnl, D("40"));
  EXPECT_EQ(k.fees_paid, D("2"));
  EXPECT_EQ(k.equity, D("1040"));
  EXPECT_EQ(k.return_fraction, D("0.04"));
  EXPECT_EQ(k.closed_trades, 2);
  EXPECT_EQ(k.win_rate, D("1"));
  EXPECT_EQ(k.average_win, D("20"));
  EXPECT_EQ(k.largest_win, D("30"));
  EXPECT_FALSE(k.average_loss.has_value());
  EXPECT_FALSE(k.largest_loss.has_value());
  EXPECT_FALSE(k.profit_factor.has_value());  // no losses: undefined
  EXPECT_EQ(k.expectancy, D("20"));
  EXPECT_EQ(k.average_holding_ms, 2 * kHour);
  EXPECT_EQ(k.max_drawdown, D("0"));
}

TEST(Kpis, AllLosses) {
  KpiAccumulator acc(D("1000"));
  acc.AddClosedTrade(Trade("-5", "0.5", 1));
  acc.AddClosedTrade(Trade("-15", "0.5", 1));
  KpiFigures k = acc.Snapshot();
  EXPECT_EQ(k.win_rate, D("0"));
  EXPECT_EQ(k.average_loss, D("-10"));
  EXPECT_EQ(k.largest_loss, D("-15"));
  EXPECT_EQ(k.profit_factor, D("0"));
  EXPECT_EQ(k.expectancy, D("-10"));
  EXPECT_EQ(k.equity, D("980"));
  // Equity 1000 -> 995 -> 980: drawdown 20 from the 1000 peak.
  EXPECT_EQ(k.max_drawdown, D("20"));
  EXPECT_EQ(k.max_drawdown_fraction, D("0.02"));
}

TEST(Kpis, OneTradeMixedWithBreakEven) {
  KpiAccumulator acc(D("500"));
  acc.AddClosedTrade(Trade("50", "2", 5));
  acc.AddClosedTrade(Trade("0", "1", 1));  // neither win nor loss
  acc.AddClosedTrade(Trade("-25", "1", 3));
  KpiFigures k = acc.Snapshot();
  EXPECT_EQ(k.closed_trades, 3);
  EXPECT_EQ(k.win_rate, D("0.333333333"));
  EXPECT_EQ(k.profit_factor, D("2"));
  EXPECT_EQ(k.expectancy, D("8.333333333"));
  EXPECT_EQ(k.average_holding_ms, 3 * kHour);
}

TEST(Kpis, DrawdownThatRecoversKeepsTheWorstDrop) {
  KpiAccumulator acc(D("1000"));
  acc.AddOpenFees(D("0"));
  acc.Mark(kT0, D("100"), {}, 1);        // 1100 (peak)
  acc.Mark(kT0 + kHour, D("-10"), {}, 1);  // 990: drawdown 110 = 10% of 1100
  acc.Mark(kT0 + 2 * kHour, D("200"), {}, 1);  // 1200, recovered
  KpiFigures k = acc.Snapshot();
  EXPECT_EQ(k.equity, D("1200"));
  EXPECT_EQ(k.max_drawdown, D("110"));
  EXPECT_EQ(k.max_drawdown_fraction, D("0.1"));
  EXPECT_EQ(k.unrealized_pnl, D("200"));
}

TEST(Kpis, OpenFeesCountAsPaidAndReduceUnrealized) {
  KpiAccumulator acc(D("1000"));
  acc.AddOpenFees(D("0.6"));
  acc.Mark(kT0, D("10"), {{.symbol = "BTC-USDT", .quantity = D("0.5"), .notional = D("320")}}, 1);
  KpiFigures k = acc.Snapshot();
  EXPECT_EQ(k.fees_paid, D("0.6"));
  EXPECT_EQ(k.unrealized_pnl, D("9.4"));
  EXPECT_EQ(k.equity, D("1009.4"));
  ASSERT_EQ(k.open_exposure.size(), 1u);
  EXPECT_EQ(k.open_exposure[0].notional, D("320"));
  EXPECT_EQ(k.open_positions, 1);
  // When the position closes, its fees move into the trade's pnl.
  acc.RemoveOpenFees(D("0.6"));
  acc.AddClosedTrade({.pnl = D("8.8"), .fees = D("1.2"), .open_time_ms = kT0,
                      .close_time_ms = kT0 + kHour});
  acc.Mark(kT0 + kHour, D("0"), {}, 0);
  k = acc.Snapshot();
  EXPECT_EQ(k.fees_paid, D("1.2"));
  EXPECT_EQ(k.realized_pnl, D("8.8"));
  EXPECT_EQ(k.equity, D("1008.8"));
}

TEST(Kpis, SharpeSortinoAndCalmarFromDailyCloses) {
  // End-of-day equity 1010, 1000, 1030 from a 1000 start. Expected values
  // computed independently: returns 0.01, -0.00990099, 0.03; sample sd;
  // downside deviation over all 3 days; x sqrt(365).
  KpiAccumulator acc(D("1000"));
  acc.Mark(kT0 + 12 * kHour, D("10"), {}, 1);
  acc.Mark(kT0 + kDay + 12 * kHour, D("0"), {}, 1);
  acc.Mark(kT0 + 2 * kDay + 12 * kHour, D("30"), {}, 1);
  KpiFigures k = acc.Snapshot();
  ASSERT_TRUE(k.sharpe_ratio.has_value());
  ASSERT_TRUE(k.sortino_ratio.has_value());
  EXPECT_NEAR(k.sharpe_ratio->ToDouble(), 9.607784756, 1e-6);
  EXPECT_NEAR(k.sortino_ratio->ToDouble(), 33.531994672, 1e-6);
  // Calmar: (1.03^(365/2) - 1) / (10/1010).
  ASSERT_TRUE(k.calmar_ratio.has_value());
  EXPECT_NEAR(k.calmar_ratio->ToDouble(), 22137.980932, 1e-3);
}

TEST(Kpis, DaysWithoutSamplesCarryThePreviousClose) {
  KpiAccumulator acc(D("1000"));
  acc.Mark(kT0, D("10"), {}, 1);               // day 0: 1010
  acc.Mark(kT0 + 2 * kDay, D("10"), {}, 1);    // day 2: 1010 (day 1 carried)
  KpiFigures k = acc.Snapshot();
  // returns: 0.01, 0, 0 -> mean 0.00333, sample sd 0.005773503
  ASSERT_TRUE(k.sharpe_ratio.has_value());
  EXPECT_NEAR(k.sharpe_ratio->ToDouble(), (0.01 / 3) / 0.0057735027 * 19.104973, 1e-4);
  EXPECT_FALSE(k.sortino_ratio.has_value());  // no down day
}

}  // namespace
}  // namespace xctl
