// Portfolio with real exchanges (tests/control/control_fixture.h): marks,
// the feed, lists from memory, running aggregates, restarts, live funding and
// fees, and CheckIntegrity (also run by the fixture's TearDown).
#include "server/control/portfolio.h"

#include <memory>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "server/common/error_reason.h"
#include "tests/control/control_fixture.h"

namespace xctl {
namespace {

using ::testing::HasSubstr;

class PortfolioTest : public ControlTest {};

TEST_F(PortfolioTest, EveryTickMarksOpenPositionsAndPublishesOneBatch) {
  ASSERT_TRUE(router_->UpsertStrategy(Strategy("p1", "sma_cross")).ok());
  ASSERT_TRUE(router_->PlaceOrder(Buy("p1")).ok());
  int ready = 0;
  auto sub = portfolio_->feed().Subscribe({}, true, true, [&] { ++ready; });
  Tick("64099.5", "64100.5", "64100");
  FeedSubscription::Batch batch = sub->Drain();
  EXPECT_EQ(ready, 1);
  ASSERT_EQ(batch.positions.size(), 1u);
  EXPECT_EQ(batch.positions[0].mark_price, D("64100"));
  EXPECT_EQ(batch.positions[0].unrealized_pnl, D("0.0995"));  // (64100 - 64000.5) x 0.001
  EXPECT_EQ(batch.positions[0].strategy_type, "sma_cross");
  ASSERT_EQ(batch.kpis.size(), 3u);  // strategy, type, all
  // KPIs count the open row's fee against it (docs/kpis.md): 0.0995 - 0.0384003.
  for (const KpiView& k : batch.kpis) EXPECT_EQ(k.figures.unrealized_pnl, D("0.0610997"));
  OrderRouter::BalanceView balance = router_->GetBalance("p1").value();
  EXPECT_EQ(balance.equity, D("10000.0610997"));  // 9999.9615997 + 0.0995
}

TEST_F(PortfolioTest, ManyPositionsOnOnePairConflateToOneStatePerPosition) {
  constexpr int kStrategies = 40;
  for (int i = 0; i < kStrategies; ++i) {
    std::string id = absl::StrCat("s", i);
    ASSERT_TRUE(router_->UpsertStrategy(Strategy(id, "sma_cross")).ok());
    ASSERT_TRUE(router_->PlaceOrder(Buy(id)).ok());
  }
  auto sub = portfolio_->feed().Subscribe({.strategy_type = "sma_cross"}, true, false, [] {});
  for (int t = 0; t < 10; ++t) Tick("64000", "64001", absl::StrCat("6400", t));
  FeedSubscription::Batch batch = sub->Drain();
  EXPECT_EQ(batch.positions.size(), static_cast<size_t>(kStrategies));
  EXPECT_EQ(batch.conflated, static_cast<uint64_t>(kStrategies * 9));
  for (const PositionView& v : batch.positions) EXPECT_EQ(v.mark_price, D("64009"));
}

TEST_F(PortfolioTest, OpenPositionsListedFromMemoryPageLikeTheStore) {
  for (int i = 0; i < 30; ++i) {
    std::string id = absl::StrCat("s", i);
    ASSERT_TRUE(router_->UpsertStrategy(Strategy(id, i % 3 ? "sma_cross" : "tradingview")).ok());
    ASSERT_TRUE(router_->PlaceOrder(Buy(id)).ok());
    if (i % 4 == 0) ASSERT_TRUE(router_->ClosePosition(id, {.symbol = "BTC-USDT"}).ok());
  }
  Tick("64099.5", "64100.5", "64100");
  struct Case {
    Portfolio::Query query;
    PositionFilter filter;
  };
  std::vector<Case> cases = {
      {{}, {}},
      {{.strategy_type = "tradingview"}, {}},
      {{.strategy_id = "s5"}, {.strategy_id = "s5"}},
      {{.symbol = "BTC-USDT"}, {.symbol = "BTC-USDT"}},
      {{.symbol = "ETH-USDT"}, {.symbol = "ETH-USDT"}},
  };
  for (int i = 0; i < 30; i += 3) cases[1].filter.strategy_ids.push_back(absl::StrCat("s", i));
  for (Case& c : cases) {
    c.query.position_status = PositionStatus::kOpen;
    c.filter.status = PositionStatus::kOpen;
    std::vector<Position> stored;
    ASSERT_TRUE(store_->Read([&](Tx& tx) -> absl::Status {
      auto rows = tx.positions().List(c.filter, {.limit = 1000});
      if (rows.ok()) stored = *rows;
      return rows.status();
    }).ok());
    std::vector<PositionView> listed;
    c.query.page.limit = 7;
    while (true) {
      std::vector<PositionView> page = portfolio_->ListPositions(c.query).value();
      listed.insert(listed.end(), page.begin(), page.end());
      if (static_cast<int>(page.size()) < c.query.page.limit) break;
      c.query.page.before_id = page.back().position.id;
    }
    ASSERT_EQ(listed.size(), stored.size()) << c.query.strategy_type << c.query.strategy_id;
    for (size_t i = 0; i < listed.size(); ++i) {
      EXPECT_EQ(listed[i].position.id, stored[i].id);
      EXPECT_EQ(listed[i].position.quantity, stored[i].quantity);
      EXPECT_EQ(listed[i].mark_price, D("64100"));
      EXPECT_EQ(listed[i].unrealized_pnl, D("0.0995"));  // (64100 - 64000.5) x 0.001
      EXPECT_EQ(listed[i].strategy_type, (std::stoi(stored[i].strategy_id.substr(1)) % 3)
                                             ? "sma_cross" : "tradingview");
    }
  }
}

TEST_F(PortfolioTest, RunningAggregatesEqualThoseRebuiltFromTheStore) {
  // Trades, partial closes and ticks across two types; then a new control
  // loads the same store: every aggregate figure must agree.
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(router_->UpsertStrategy(
        Strategy(absl::StrCat("s", i), i % 2 ? "sma_cross" : "tradingview")).ok());
  }
  const char* lasts[] = {"64100", "63950", "64210", "64005", "63880"};
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 12; ++i) {
      std::string id = absl::StrCat("s", i);
      OrderRequest r = Buy(id, (i + round) % 3 ? "2" : "1");
      if ((i + round) % 4 == 0) r.side = Side::kSell;
      auto placed = router_->PlaceOrder(r);
      ASSERT_TRUE(placed.ok()) << id << " round " << round << ": " << placed.status();
    }
    Tick(lasts[round], absl::StrCat(lasts[round], ".5"), lasts[round]);
    EXPECT_EQ(portfolio_->CheckIntegrity(), absl::OkStatus()) << "round " << round;
  }
  Portfolio::KpiReport running = portfolio_->GetKpis("", "").value();
  NewControl();
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(router_->UpsertStrategy(
        Strategy(absl::StrCat("s", i), i % 2 ? "sma_cross" : "tradingview")).ok());
  }
  Portfolio::KpiReport rebuilt = portfolio_->GetKpis("", "").value();
  ASSERT_EQ(running.types.size(), rebuilt.types.size());
  auto same = [](const KpiFigures& a, const KpiFigures& b, const std::string& what) {
    EXPECT_EQ(a.unrealized_pnl, b.unrealized_pnl) << what;
    EXPECT_EQ(a.realized_pnl, b.realized_pnl) << what;
    EXPECT_EQ(a.fees_paid, b.fees_paid) << what;
    EXPECT_EQ(a.open_positions, b.open_positions) << what;
    EXPECT_EQ(a.closed_trades, b.closed_trades) << what;
    ASSERT_EQ(a.open_exposure.size(), b.open_exposure.size()) << what;
    for (size_t i = 0; i < a.open_exposure.size(); ++i) {
      EXPECT_EQ(a.open_exposure[i].symbol, b.open_exposure[i].symbol) << what;
      EXPECT_EQ(a.open_exposure[i].quantity, b.open_exposure[i].quantity) << what;
      EXPECT_EQ(a.open_exposure[i].notional, b.open_exposure[i].notional) << what;
    }
  };
  same(running.total.figures, rebuilt.total.figures, "all");
  for (size_t i = 0; i < running.types.size(); ++i) {
    same(running.types[i].figures, rebuilt.types[i].figures, running.types[i].name);
  }
  for (size_t i = 0; i < running.strategies.size(); ++i) {
    same(running.strategies[i].figures, rebuilt.strategies[i].figures,
         running.strategies[i].name);
  }
  EXPECT_GT(running.total.figures.closed_trades, 0);
  EXPECT_GT(running.total.figures.open_positions, 0);
}

TEST_F(PortfolioTest, RestingLimitOrderFillsOnATickAndIsPublished) {
  ASSERT_TRUE(router_->UpsertStrategy(Strategy("p1", "sma_cross")).ok());
  OrderRequest limit = Buy("p1");
  limit.type = OrderType::kLimit;
  limit.price = D("63900");
  ASSERT_TRUE(router_->PlaceOrder(limit).ok());
  auto sub = portfolio_->feed().Subscribe({.strategy_id = "p1"}, true, true, [] {});
  EXPECT_TRUE(router_->OpenPositions("p1")->empty());
  Tick("63890", "63895", "63892");
  EXPECT_EQ(router_->OpenPositions("p1")->size(), 1u);
  FeedSubscription::Batch batch = sub->Drain();
  ASSERT_EQ(batch.positions.size(), 1u);
  EXPECT_EQ(batch.positions[0].position.open_price, D("63900"));
  ASSERT_EQ(batch.kpis.size(), 1u);  // the strategy filter takes its own KPIs only
  EXPECT_EQ(batch.kpis[0].figures.open_positions, 1);
}

TEST_F(PortfolioTest, ARestartBringsBackPositionsAndKpis) {
  ASSERT_TRUE(router_->UpsertStrategy(Strategy("p1", "sma_cross")).ok());
  ASSERT_TRUE(router_->PlaceOrder(Buy("p1", "2")).ok());
  Tick("64100", "64100.5", "64100.2");
  ASSERT_TRUE(router_->ClosePosition("p1", {.symbol = "BTC-USDT", .quantity = D("1")}).ok());
  KpiFigures before = portfolio_->GetKpis("p1", "")->total.figures;
  ResetControl();
  store_ = Store::Open({.url = db_.url()}).value();
  factory_ = std::make_unique<DefaultExchangeFactory>(
      DefaultExchangeFactory::Deps{store_.get(), &prices_, &instruments_, &SystemClock()},
      blofin::RestOptions{});
  NewControl();
  ASSERT_TRUE(router_->UpsertStrategy(Strategy("p1", "sma_cross")).ok());
  KpiFigures after = portfolio_->GetKpis("p1", "")->total.figures;
  EXPECT_EQ(after.realized_pnl, before.realized_pnl);
  EXPECT_EQ(after.fees_paid, before.fees_paid);
  EXPECT_EQ(after.closed_trades, 1);
  EXPECT_EQ(after.open_positions, 1);
  EXPECT_EQ(router_->OpenPositions("p1")->at(0).quantity, D("1"));
}

// docs/kpis.md "Funding, liquidations and the unexplained": BloFin lists no
// account funding payments, so a live strategy's funding is computed from
// "GET Funding Rate History"; what the account's balance ("GET Futures
// Account Balance") shows beyond the records is `unexplained`, and equity
// follows the account. The fake does not charge funding, so the whole
// computed amount comes back as unexplained.
TEST_F(PortfolioTest, LiveFundingIsComputedAndTheAccountsRestIsUnexplained) {
  ASSERT_TRUE(router_->UpsertStrategy(Strategy("l1", "sma_cross", /*live=*/true)).ok());
  ASSERT_TRUE(router_->PlaceOrder(Buy("l1", "10")).ok());
  const Position open = router_->OpenPositions("l1")->at(0);
  // One settlement at the opening (counted), one before it (not).
  ASSERT_TRUE(fake_.Control(
      "funding-history",
      absl::StrCat(R"({"BTC-USDT":[{"fundingRate":"0.0001","fundingTime":")", open.open_time_ms,
                   R"("},{"fundingRate":"0.0002","fundingTime":")", open.open_time_ms - 3600000,
                   R"("}]})")));
  Tick("64000", "64000.5", "64000.2");
  KpiFigures k = portfolio_->GetKpis("l1", "")->total.figures;
  // 0.0001 x 10 x 0.001 x 64000.2, paid by the long.
  EXPECT_EQ(k.funding, D("-0.0640002"));
  EXPECT_EQ(k.unexplained, D("0.0640002"));
  OrderRouter::BalanceView balance = router_->GetBalance("l1").value();
  EXPECT_EQ(k.equity, balance.account.balance + balance.unrealized_pnl);
  EXPECT_EQ(portfolio_->GetKpis("", "sma_cross")->total.figures.unexplained, D("0.0640002"));
  std::vector<FundingPayment> rows;
  ASSERT_TRUE(store_->Read([&](Tx& tx) -> absl::Status {
    auto list = tx.funding().ListByStrategy("l1");
    if (list.ok()) rows = *list;
    return list.status();
  }).ok());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].mode, TradingMode::kLive);
  EXPECT_EQ(rows[0].settlement_time_ms, open.open_time_ms);
  // index.md "GET Funding Rate History" request parameters only.
  rapidjson::Document log;
  log.Parse(fake_.ControlGet("requests?path=/api/v1/market/funding-rate-history").c_str());
  ASSERT_TRUE(log.HasMember("requests"));
  ASSERT_GE(log["requests"].Size(), 1u);
  for (const auto& entry : log["requests"].GetArray()) {
    for (const auto& param : entry["query"].GetObject()) {
      EXPECT_TRUE(std::set<std::string>({"instId", "before", "after", "limit"})
                      .contains(param.name.GetString()))
          << param.name.GetString();
    }
  }
}

// A negative `fee` from BloFin (index.md, "GET Trade History": a rebate) is
// kept with its sign: fees_paid goes below zero and equity above the start.
TEST_F(PortfolioTest, ALiveMakerRebateIncreasesTheKpiBalance) {
  ASSERT_TRUE(fake_.Control("settings", R"({"maker_fee":"-0.0001"})"));
  ASSERT_TRUE(router_->UpsertStrategy(Strategy("l1", "sma_cross", /*live=*/true)).ok());
  OrderRequest limit = Buy("l1", "1");
  limit.type = OrderType::kLimit;
  limit.price = D("63990");
  ASSERT_TRUE(router_->PlaceOrder(limit).ok());
  Tick("63985", "63986", "63985");  // BloFin fills the resting buy as a maker
  KpiFigures k = portfolio_->GetKpis("l1", "")->total.figures;
  ASSERT_EQ(k.open_positions, 1);
  EXPECT_EQ(k.fees_paid, D("-0.006399"));  // 63990 x 1 x 0.001 x -0.0001
  // start + rebate + (63985 - 63990) x 1 x 0.001 at the mark
  EXPECT_EQ(k.equity, k.starting_balance + D("0.006399") - D("0.005"));
  OrderRouter::BalanceView balance = router_->GetBalance("l1").value();
  EXPECT_EQ(balance.account.balance, k.starting_balance + D("0.006399"));
  EXPECT_EQ(portfolio_->GetKpis("l1", "")->total.figures.unexplained, D("0"));  // all explained
}

// CheckIntegrity after trading through removals, re-registrations and a
// mode switch: the sums follow every membership change.
TEST_F(PortfolioTest, CheckIntegrityHoldsThroughMembershipChanges) {
  ASSERT_TRUE(router_->UpsertStrategy(Strategy("p1", "sma_cross")).ok());
  ASSERT_TRUE(router_->UpsertStrategy(Strategy("p2", "tradingview")).ok());
  ASSERT_TRUE(router_->PlaceOrder(Buy("p1", "2")).ok());
  ASSERT_TRUE(router_->PlaceOrder(Buy("p2")).ok());
  Tick("64100", "64100.5", "64100.2");
  EXPECT_EQ(portfolio_->CheckIntegrity(), absl::OkStatus());
  ASSERT_TRUE(router_->RemoveStrategy("p2").ok());
  EXPECT_EQ(portfolio_->CheckIntegrity(), absl::OkStatus());
  ASSERT_TRUE(portfolio_->GetKpis("", "").ok());  // rebuilds the aggregates
  EXPECT_EQ(portfolio_->CheckIntegrity(), absl::OkStatus());
  ASSERT_TRUE(router_->UpsertStrategy(Strategy("p1", "tradingview")).ok());  // type changed
  Tick("64200", "64200.5", "64200.2");
  EXPECT_EQ(portfolio_->CheckIntegrity(), absl::OkStatus());
  ASSERT_TRUE(router_->ClosePosition("p1", {.symbol = "BTC-USDT", .quantity = D("1")}).ok());
  ASSERT_TRUE(router_->UpsertStrategy(Strategy("p1", "tradingview", /*live=*/true)).ok());
  EXPECT_EQ(portfolio_->CheckIntegrity(), absl::OkStatus());
  EXPECT_EQ(portfolio_->GetKpis("", "")->total.figures.open_positions, 1);
}

// A stored row changed under a running portfolio (here by hand; in life by
// another process writing the same database) is reported, naming the row;
// once the row is back, the check passes again.
TEST_F(PortfolioTest, CheckIntegrityReportsAStoredRowChangedUnderIt) {
  ASSERT_TRUE(router_->UpsertStrategy(Strategy("p1", "sma_cross")).ok());
  ASSERT_TRUE(router_->PlaceOrder(Buy("p1", "2")).ok());
  const Position open = router_->OpenPositions("p1")->at(0);
  auto write = [&](const Position& row) {
    ASSERT_TRUE(store_->Transact([&](Tx& tx) -> absl::Status {
      return tx.positions().Update(row);
    }).ok());
  };
  Position changed = open;
  changed.quantity = D("5");
  write(changed);
  absl::Status broken = portfolio_->CheckIntegrity();
  EXPECT_EQ(broken.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(ReasonOf(broken), std::string(reason::kPortfolioInconsistent));
  EXPECT_THAT(broken.message(), HasSubstr(absl::StrCat("strategy p1: open row #", open.id)));
  EXPECT_THAT(broken.message(), HasSubstr("quantity 2 vs 5"));
  write(open);
  EXPECT_EQ(portfolio_->CheckIntegrity(), absl::OkStatus());
}

}  // namespace
}  // namespace xctl
