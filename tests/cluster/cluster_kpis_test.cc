// ClusterKpis (server/cluster/cluster_kpis.h): cluster-wide KPI aggregates
// per type and over all from per-strategy KPIs held by owner epoch
// (docs/cluster.md, "Cluster-wide KPIs"; issue #18, item 3).
#include "server/cluster/cluster_kpis.h"

#include <string>

#include "gtest/gtest.h"

namespace xctl::cluster {
namespace {

Decimal D(const char* s) { return Decimal::Parse(s).value(); }

KpiView Strategy(const std::string& id, const std::string& type, const char* balance,
                 const char* realized, const char* unrealized, int64_t trades) {
  KpiView v;
  v.kind = KpiScopeKind::kStrategy;
  v.name = id;
  v.strategy_type = type;
  v.figures.starting_balance = D(balance);
  v.figures.realized_pnl = D(realized);
  v.figures.unrealized_pnl = D(unrealized);
  v.figures.total_pnl = D(realized) + D(unrealized);
  v.figures.equity = D(balance) + v.figures.total_pnl;
  v.figures.closed_trades = trades;
  v.time_ms = 1000;
  return v;
}

TEST(ClusterKpis, SumsPerTypeAndOverAll) {
  ClusterKpis kpis;
  EXPECT_TRUE(kpis.Apply(Strategy("a", "sma_cross", "1000", "10", "5", 2), "node0", 1));
  EXPECT_TRUE(kpis.Apply(Strategy("b", "sma_cross", "2000", "-4", "0", 1), "node1", 3));
  KpiView c = Strategy("c", "external", "500", "1", "2", 1);
  c.figures.open_exposure = {{"BTC-USDT", D("2"), D("100")}};
  c.figures.largest_win = D("3");
  c.figures.average_holding_ms = 600;
  EXPECT_TRUE(kpis.Apply(c, "node2", 1));
  KpiView a2 = Strategy("a", "sma_cross", "1000", "10", "5", 2);
  a2.figures.open_exposure = {{"BTC-USDT", D("-1"), D("50")}};
  a2.figures.largest_win = D("7");
  a2.figures.average_holding_ms = 300;
  EXPECT_TRUE(kpis.Apply(a2, "node0", 1));  // same epoch: the newer value

  const KpiView sma = kpis.Aggregate("sma_cross");
  EXPECT_EQ(sma.kind, KpiScopeKind::kType);
  EXPECT_EQ(sma.name, "sma_cross");
  EXPECT_EQ(sma.figures.starting_balance, D("3000"));
  EXPECT_EQ(sma.figures.realized_pnl, D("6"));
  EXPECT_EQ(sma.figures.total_pnl, D("11"));
  EXPECT_EQ(sma.figures.closed_trades, 3);
  EXPECT_EQ(*sma.figures.return_fraction, Decimal::Div(D("11"), D("3000")));

  const KpiView all = kpis.Aggregate("");
  EXPECT_EQ(all.kind, KpiScopeKind::kAll);
  EXPECT_EQ(all.figures.starting_balance, D("3500"));
  EXPECT_EQ(all.figures.equity, D("3514"));
  EXPECT_EQ(all.figures.closed_trades, 4);
  ASSERT_EQ(all.figures.open_exposure.size(), 1u);
  EXPECT_EQ(all.figures.open_exposure[0].quantity, D("1"));
  EXPECT_EQ(all.figures.open_exposure[0].notional, D("150"));
  EXPECT_EQ(*all.figures.largest_win, D("7"));
  EXPECT_EQ(*all.figures.average_holding_ms, (300 * 2 + 600 * 1) / 3);
  EXPECT_FALSE(all.figures.sharpe_ratio.has_value()) << "needs the equity curve";
  EXPECT_FALSE(all.figures.win_rate.has_value()) << "needs every trade";
  EXPECT_EQ(kpis.Aggregate("nope").figures.starting_balance, Decimal());
}

TEST(ClusterKpis, ADeposedOwnersStaleValueNeverWins) {
  ClusterKpis kpis;
  ASSERT_TRUE(kpis.Apply(Strategy("a", "t", "1000", "10", "0", 1), "node0", 4));
  // node1 took the lease (epoch 5): its value replaces node0's.
  EXPECT_TRUE(kpis.Apply(Strategy("a", "t", "1000", "12", "0", 2), "node1", 5));
  // node0, paused and resumed, publishes what it had: refused.
  EXPECT_FALSE(kpis.Apply(Strategy("a", "t", "1000", "99", "0", 9), "node0", 4));
  EXPECT_EQ(kpis.Aggregate("").figures.realized_pnl, D("12"));
  EXPECT_EQ(*kpis.EpochOf("a"), 5);
}

TEST(ClusterKpis, RemovalAndAnOwnerDying) {
  ClusterKpis kpis;
  ASSERT_TRUE(kpis.Apply(Strategy("a", "t", "1000", "10", "3", 1), "node0", 1));
  ASSERT_TRUE(kpis.Apply(Strategy("b", "t", "1000", "1", "0", 1), "node1", 1));
  kpis.Remove("b");  // deleted
  kpis.Remove("zz");  // unknown: nothing
  EXPECT_EQ(kpis.Aggregate("t").figures.starting_balance, D("1000"));
  // node0 dies; its last value stays until the new owner publishes under
  // epoch 2 (it reloaded the same stored trades, marks at its own price).
  EXPECT_EQ(kpis.Aggregate("").figures.total_pnl, D("13"));
  ASSERT_TRUE(kpis.Apply(Strategy("a", "t", "1000", "10", "1", 1), "node2", 2));
  EXPECT_EQ(kpis.Aggregate("").figures.total_pnl, D("11"));
  EXPECT_EQ(kpis.Strategies().size(), 1u);
  EXPECT_FALSE(kpis.EpochOf("b").has_value());
}

TEST(ClusterKpis, SilentStrategiesAreForgotten) {
  ClusterKpis kpis;
  ASSERT_TRUE(kpis.Apply(Strategy("a", "t", "1000", "0", "0", 0), "node0", 1, /*heard_ms=*/100));
  ASSERT_TRUE(kpis.Apply(Strategy("b", "t", "500", "0", "0", 0), "node1", 1, /*heard_ms=*/300));
  kpis.ForgetSilent(200);
  EXPECT_FALSE(kpis.EpochOf("a").has_value());
  EXPECT_EQ(kpis.Aggregate("").figures.starting_balance, D("500"));
}

// What GetKpis answers in cluster mode (ExchangeControlService, option
// cluster_kpis): the Portfolio's report shape from the held table.
TEST(ClusterKpis, ReportsInThePortfoliosShape) {
  ClusterKpis kpis;
  ASSERT_TRUE(kpis.Apply(Strategy("b", "tradingview", "2000", "-4", "0", 1), "node1", 3));
  ASSERT_TRUE(kpis.Apply(Strategy("a", "external", "1000", "10", "5", 2), "node0", 1));
  ASSERT_TRUE(kpis.Apply(Strategy("c", "external", "500", "1", "0", 1), "node2", 1));

  auto all = kpis.Report("", "");
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->total.kind, KpiScopeKind::kAll);
  EXPECT_EQ(all->total.figures.realized_pnl, D("7"));
  EXPECT_EQ(all->total.figures.closed_trades, 4);
  ASSERT_EQ(all->strategies.size(), 3u);  // by id
  EXPECT_EQ(all->strategies[0].name, "a");
  EXPECT_EQ(all->strategies[2].name, "c");
  ASSERT_EQ(all->types.size(), 2u);  // by name
  EXPECT_EQ(all->types[0].name, "external");
  EXPECT_EQ(all->types[0].kind, KpiScopeKind::kType);
  EXPECT_EQ(all->types[0].figures.realized_pnl, D("11"));
  EXPECT_EQ(all->types[1].name, "tradingview");
  EXPECT_EQ(all->types[1].figures.realized_pnl, D("-4"));

  auto external = kpis.Report("", "external");
  ASSERT_TRUE(external.ok()) << external.status();
  EXPECT_EQ(external->total.kind, KpiScopeKind::kType);
  EXPECT_EQ(external->total.figures.starting_balance, D("1500"));
  EXPECT_EQ(external->total.figures.closed_trades, 3);
  ASSERT_EQ(external->types.size(), 1u);
  EXPECT_EQ(external->types[0].figures.closed_trades, 3);
  ASSERT_EQ(external->strategies.size(), 2u);

  auto one = kpis.Report("b", "");
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->total.kind, KpiScopeKind::kStrategy);
  EXPECT_EQ(one->total.figures.realized_pnl, D("-4"));
  ASSERT_EQ(one->strategies.size(), 1u);
  EXPECT_TRUE(one->types.empty());

  EXPECT_EQ(kpis.Report("zz", "").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(kpis.Report("", "sma_cross").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(kpis.Report("a", "external").status().code(), absl::StatusCode::kInvalidArgument);
  auto empty = ClusterKpis().Report("", "");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->total.figures.closed_trades, 0);
  EXPECT_TRUE(empty->strategies.empty());
}

}  // namespace
}  // namespace xctl::cluster
