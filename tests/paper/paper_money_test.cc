// The money a paper account is charged besides fills (docs/exchanges.md,
// "Funding", "Paper liquidation", "Maker rebates"), on a real store (SQLite
// file and PostgreSQL server) with a FakeClock: funding at a settlement
// (long pays, short receives, once across ticks and restarts), liquidation
// at the exact tick the rule says (isolated and cross), the balance never
// below what BloFin leaves, and a negative maker rate as a rebate.
// BTC-USDT: contract value 0.001, taker 0.06%; numbers worked out by hand.
#include <memory>
#include <random>

#include "gmock/gmock.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/common/clock.h"
#include "server/exchange/paper/liquidation.h"
#include "server/exchange/paper/paper_exchange.h"
#include "server/model/position_tiers.h"
#include "server/price/funding_rates.h"
#include "tests/support/fixed_prices.h"
#include "tests/support/test_databases.h"

namespace xctl {
namespace {

using ::xctl::testing::FixedPrices;
using ::xctl::testing::TestDatabase;

Decimal D(absl::string_view s) { return Decimal::Parse(s).value(); }

constexpr int64_t kT0 = 1'700'000'000'000;
constexpr int64_t kSettlement = kT0 + 3'600'000;

class PaperMoneyTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = std::make_unique<TestDatabase>(GetParam());
    XCTL_REQUIRE_DATABASE(*db_);
    auto store = Store::Open({.url = db_->url()});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    for (const char* id : {"s1", "s2"}) {
      StrategyRecord s{.id = id, .name = id, .type = "aibot", .pairs = {"BTC-USDT"},
                       .starting_balance = D("10000")};
      ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.strategies().Insert(s); }).ok());
    }
    clock_.Set(absl::FromUnixMillis(kT0));
    Price("64000.5");
  }

  std::unique_ptr<PaperExchange> Open(PaperAccountConfig config) {
    auto ex = PaperExchange::Open(config, {.store = store_.get(), .prices = &prices_,
                                           .instruments = &instruments_, .clock = &clock_,
                                           .funding = &funding_, .tiers = &tiers_});
    EXPECT_TRUE(ex.ok()) << ex.status();
    return ex.ok() ? *std::move(ex) : nullptr;
  }

  TickPtr Price(absl::string_view price) {
    return prices_.Set("BTC-USDT", price, price, price);
  }

  OrderRequest Market(const std::string& strategy, Side side, absl::string_view qty) {
    return OrderRequest{.strategy_id = strategy, .symbol = "BTC-USDT", .side = side,
                        .type = OrderType::kMarket, .quantity = D(qty)};
  }

  Decimal BalanceOf(PaperExchange& ex) { return ex.Balance().value().balance; }

  std::vector<FundingPayment> FundingRows(const std::string& strategy) {
    std::vector<FundingPayment> out;
    EXPECT_TRUE(store_->Read([&](Tx& tx) -> absl::Status {
      auto rows = tx.funding().ListByStrategy(strategy);
      if (!rows.ok()) return rows.status();
      out = *rows;
      return absl::OkStatus();
    }).ok());
    return out;
  }

  // Feeds `price` as a tick and returns what the exchange did.
  std::vector<OrderResult> TickAt(PaperExchange& ex, absl::string_view price) {
    return ex.OnTick(*Price(price));
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<Store> store_;
  FixedPrices prices_;
  FundingRateCache funding_;
  TierCatalog tiers_;
  InstrumentCatalog instruments_{DefaultInstruments()};
  FakeClock clock_;
};

// index.md, "GET Funding Rate": a positive fundingRate at fundingTime; longs
// pay, shorts receive rate x quantity x contract value x price.
TEST_P(PaperMoneyTest, LongPaysAndShortReceivesAtTheSettlementOnceAcrossARestart) {
  auto long_ex = Open({.strategy_id = "s1"});
  auto short_ex = Open({.strategy_id = "s2"});
  ASSERT_TRUE(long_ex->PlaceOrder(Market("s1", Side::kBuy, "10")).ok());
  ASSERT_TRUE(short_ex->PlaceOrder(Market("s2", Side::kSell, "10")).ok());
  EXPECT_TRUE(long_ex->NeedsTicks());  // open positions: funding and liquidation
  const Decimal long_before = BalanceOf(*long_ex), short_before = BalanceOf(*short_ex);
  funding_.Put({.pair = "BTC-USDT", .rate = D("0.0001"), .funding_time_ms = kSettlement});

  clock_.Set(absl::FromUnixMillis(kSettlement - 1));
  EXPECT_TRUE(TickAt(*long_ex, "64000.2").empty());  // not yet due
  EXPECT_EQ(BalanceOf(*long_ex), long_before);

  clock_.Set(absl::FromUnixMillis(kSettlement));
  // 0.0001 x 10 x 0.001 x 64000.2 = 0.0640002
  std::vector<OrderResult> paid = TickAt(*long_ex, "64000.2");
  ASSERT_EQ(paid.size(), 1u);
  ASSERT_EQ(paid[0].funding.size(), 1u);
  EXPECT_EQ(paid[0].funding[0].amount, D("-0.0640002"));
  EXPECT_EQ(paid[0].funding[0].settlement_time_ms, kSettlement);
  EXPECT_EQ(BalanceOf(*long_ex), long_before - D("0.0640002"));
  std::vector<OrderResult> received = TickAt(*short_ex, "64000.2");
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].funding[0].amount, D("0.0640002"));
  EXPECT_EQ(BalanceOf(*short_ex), short_before + D("0.0640002"));

  // Another tick, and a restart: the settlement is not counted again.
  EXPECT_TRUE(TickAt(*long_ex, "64000.9").empty());
  long_ex = Open({.strategy_id = "s1"});
  EXPECT_TRUE(TickAt(*long_ex, "64001").empty());
  EXPECT_EQ(BalanceOf(*long_ex), long_before - D("0.0640002"));
  std::vector<FundingPayment> rows = FundingRows("s1");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].rate, D("0.0001"));
  EXPECT_EQ(rows[0].price, D("64000.2"));
  EXPECT_EQ(rows[0].quantity, D("10"));
  EXPECT_EQ(rows[0].side, PositionSide::kLong);
  EXPECT_EQ(rows[0].mode, TradingMode::kPaper);
  EXPECT_EQ(rows[0].source, "computed");
  EXPECT_NE(rows[0].position_id, 0);
}

TEST_P(PaperMoneyTest, NoFundingWithoutARateAndNoneForAPositionOpenedAfterTheSettlement) {
  auto ex = Open({.strategy_id = "s1"});
  clock_.Set(absl::FromUnixMillis(kSettlement + 1));
  ASSERT_TRUE(ex->PlaceOrder(Market("s1", Side::kBuy, "10")).ok());
  const Decimal before = BalanceOf(*ex);
  EXPECT_TRUE(TickAt(*ex, "64000").empty());  // simulated prices: no rate at all
  funding_.Put({.pair = "BTC-USDT", .rate = D("0.0001"), .funding_time_ms = kSettlement});
  EXPECT_TRUE(TickAt(*ex, "64000").empty());  // opened after that settlement
  EXPECT_EQ(BalanceOf(*ex), before);
  EXPECT_TRUE(FundingRows("s1").empty());
}

// A negative maker rate (BloFin's maker rebate) increases the balance.
TEST_P(PaperMoneyTest, NegativeMakerRateIsARebate) {
  auto ex = Open({.strategy_id = "s1", .maker_fee_rate = D("-0.0001")});
  ASSERT_NE(ex, nullptr);
  OrderRequest limit = Market("s1", Side::kBuy, "10");
  limit.type = OrderType::kLimit;
  limit.price = D("63000");
  ASSERT_TRUE(ex->PlaceOrder(limit).ok());
  std::vector<OrderResult> filled = TickAt(*ex, "62999");
  ASSERT_EQ(filled.size(), 1u);
  // 63000 x 10 x 0.001 x -0.0001 = -0.063
  EXPECT_EQ(filled[0].order.fee, D("-0.063"));
  EXPECT_EQ(BalanceOf(*ex), D("10000.063"));
}

// Isolated, 10x: margin 64.0005; maintenance 0.4% (BTC-USDT's first tier) x
// notional. Liquidated when 64.0005 + (m - 64000.5) x 0.01 <= 0.00004 m,
// i.e. m <= 57831.77...: 57831.8 keeps it, 57831.7 liquidates.
TEST_P(PaperMoneyTest, IsolatedPositionIsLiquidatedAtTheFirstTickAtOrBelowMaintenance) {
  auto ex = Open({.strategy_id = "s1", .leverage = D("10"), .margin_mode = "isolated"});
  ASSERT_TRUE(ex->PlaceOrder(Market("s1", Side::kBuy, "10")).ok());
  const Decimal before = BalanceOf(*ex);  // 10000 - 0.384003
  EXPECT_TRUE(TickAt(*ex, "60000").empty());
  EXPECT_TRUE(TickAt(*ex, "57831.8").empty());
  std::vector<OrderResult> liquidated = TickAt(*ex, "57831.7");
  ASSERT_EQ(liquidated.size(), 1u);
  const OrderResult& r = liquidated[0];
  EXPECT_TRUE(r.liquidation);
  EXPECT_TRUE(r.order.reduce_only);
  EXPECT_EQ(r.order.side, Side::kSell);
  EXPECT_EQ(r.order.status, OrderStatus::kFilled);
  ASSERT_EQ(r.closed_positions.size(), 1u);
  EXPECT_EQ(r.order.client_order_id, absl::StrCat("liq-", r.closed_positions[0].id));
  ASSERT_EQ(r.fills.size(), 1u);
  EXPECT_FALSE(r.fills[0].maker);
  EXPECT_EQ(r.fills[0].fee, D("0.3469902"));  // 578.317 x 0.0006
  // (57831.7 - 64000.5) x 10 x 0.001 = -61.688, less both fees.
  EXPECT_EQ(*r.closed_positions[0].pnl, D("-62.4189932"));
  EXPECT_EQ(BalanceOf(*ex), before - D("61.688") - D("0.3469902"));
  EXPECT_TRUE(ex->Positions().value().empty());
  EXPECT_FALSE(ex->NeedsTicks());
  EXPECT_GE(BalanceOf(*ex), before - D("64.0005"));  // never below what BloFin leaves
}

// Cross, 10x, 100 USDT: equity 99.615997 + (m - 64000.5) x 0.01 <= 0.00004 m
// at m <= 54255.92...: 54256 keeps it, 54255.9 liquidates.
TEST_P(PaperMoneyTest, CrossAccountIsLiquidatedWhenEquityReachesMaintenance) {
  auto ex = Open({.strategy_id = "s2", .starting_balance = D("100"), .leverage = D("10")});
  // s2 exists with its own account; recreate it at 100 USDT.
  ASSERT_TRUE(store_->Transact([&](Tx& tx) {
    return tx.accounts().Upsert(Account{.strategy_id = "s2", .starting_balance = D("100"),
                                        .balance = D("100"), .leverage = D("10")});
  }).ok());
  ASSERT_TRUE(ex->PlaceOrder(Market("s2", Side::kBuy, "10")).ok());
  EXPECT_EQ(BalanceOf(*ex), D("99.615997"));
  EXPECT_TRUE(TickAt(*ex, "56000").empty());
  EXPECT_TRUE(TickAt(*ex, "54256").empty());
  std::vector<OrderResult> liquidated = TickAt(*ex, "54255.9");
  ASSERT_EQ(liquidated.size(), 1u);
  EXPECT_TRUE(liquidated[0].liquidation);
  // 99.615997 - 97.446 - 542.559 x 0.0006
  EXPECT_EQ(BalanceOf(*ex), D("1.8444616"));
  EXPECT_TRUE(ex->Positions().value().empty());
}

TEST_P(PaperMoneyTest, CrossLiquidationAfterAGapNeverLeavesANegativeBalance) {
  auto ex = Open({.strategy_id = "s2", .leverage = D("10")});
  ASSERT_TRUE(store_->Transact([&](Tx& tx) {
    return tx.accounts().Upsert(Account{.strategy_id = "s2", .starting_balance = D("100"),
                                        .balance = D("100"), .leverage = D("10")});
  }).ok());
  ASSERT_TRUE(ex->PlaceOrder(Market("s2", Side::kBuy, "10")).ok());
  std::vector<OrderResult> liquidated = TickAt(*ex, "40000");  // -240 in one tick
  ASSERT_EQ(liquidated.size(), 1u);
  EXPECT_EQ(BalanceOf(*ex), D("0"));
  // The closed row's pnl is what the account lost: its whole balance.
  EXPECT_EQ(*liquidated[0].closed_positions[0].pnl, D("-99.615997") - D("0.384003"));
}

INSTANTIATE_TEST_SUITE_P(Backends, PaperMoneyTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

// index.md, "GET Position Tiers": the rate of the tier holding the size;
// sizes looked up in contracts and in the base currency, the higher wins.
TEST(PositionTiersTest, RateByTierNeverTheKinderOne) {
  const Instrument btc = DefaultInstruments()[0];
  ASSERT_EQ(btc.symbol, "BTC-USDT");
  std::vector<MarginTier> tiers = {
      {.min_size = D("0"), .max_size = D("150"), .maintenance_margin_rate = D("0.004"),
       .max_leverage = D("125")},
      {.min_size = D("200"), .max_size = D("1000"), .maintenance_margin_rate = D("0.01"),
       .max_leverage = D("50")}};
  EXPECT_EQ(MaintenanceMarginRate(tiers, btc, D("150")), D("0.004"));
  EXPECT_EQ(MaintenanceMarginRate(tiers, btc, D("170")), D("0.01"));  // between: the next
  EXPECT_EQ(MaintenanceMarginRate(tiers, btc, D("5000")), D("0.01"));  // beyond: the last
  Instrument doge = DefaultInstruments()[4];  // contract value 100: base size is larger
  ASSERT_EQ(doge.symbol, "DOGE-USDT");
  EXPECT_EQ(MaintenanceMarginRate(tiers, doge, D("5")), D("0.01"));  // 500 DOGE
  TierCatalog catalog;
  EXPECT_EQ(catalog.Get(btc, "cross")[0].maintenance_margin_rate, D("0.004"));  // built-in
  catalog.Put("BTC-USDT", "cross", tiers);
  EXPECT_EQ(catalog.Get(btc, "cross").size(), 2u);
  EXPECT_EQ(catalog.Get(btc, "isolated").size(), DefaultTiers(btc).size());
}

TEST(LiquidationRuleTest, IsolatedChecksEachPositionCrossTheAccount) {
  const Instrument btc = DefaultInstruments()[0];
  paper::MarginedPosition p{.position = Position{.symbol = "BTC-USDT",
                                                 .side = PositionSide::kShort,
                                                 .open_price = D("50000"),
                                                 .quantity = D("10")},
                            .instrument = btc, .mark = D("54000"),
                            .maintenance_rate = D("0.005")};
  // Short at 50000, 10x: margin 50; at 54000 unrealized -40, mm 2.7.
  EXPECT_TRUE(paper::PositionsToLiquidate({p}, D("1000"), D("10"), true).empty());
  p.mark = D("54700");  // 50 - 47 = 3 > 2.7435
  EXPECT_TRUE(paper::PositionsToLiquidate({p}, D("1000"), D("10"), true).empty());
  p.mark = D("54800");  // 50 - 48 = 2 <= 2.74
  EXPECT_EQ(paper::PositionsToLiquidate({p}, D("1000"), D("10"), true).size(), 1u);
  // Cross: the same position is carried by the account's 1000 USDT.
  EXPECT_TRUE(paper::PositionsToLiquidate({p}, D("1000"), D("10"), false).empty());
  EXPECT_EQ(paper::PositionsToLiquidate({p}, D("50"), D("10"), false).size(), 1u);
}

// The snapshot's running sums, updated one ticked position at a time, agree
// with the rule evaluated from scratch after every tick of a random walk.
TEST(LiquidationRuleTest, TheIncrementalSnapshotAgreesWithTheRuleFromScratch) {
  const Instrument btc = DefaultInstruments()[0];
  paper::LiquidationSnapshot snap;
  std::mt19937 rng(7);
  for (int i = 0; i < 20; ++i) {
    snap.positions.push_back(
        {.position = Position{.symbol = absl::StrCat("P", i % 5, "-USDT"),
                              .side = i % 2 ? PositionSide::kShort : PositionSide::kLong,
                              .open_price = D("50000"),
                              .quantity = Decimal::FromUnits((i + 1) * 10'000'000)},
         .instrument = btc, .mark = D("50000"), .maintenance_rate = D("0.005")});
    snap.by_symbol[snap.positions.back().position.symbol].push_back(i);
  }
  snap.contributions.assign(snap.positions.size(), paper::Contribution{});
  for (size_t i = 0; i < snap.positions.size(); ++i) snap.Mark(i, D("50000"), D("10"));
  for (int step = 0; step < 500; ++step) {
    const std::string pair = absl::StrCat("P", rng() % 5, "-USDT");
    const Decimal mark = Decimal::FromInt(45000 + static_cast<int64_t>(rng() % 10000));
    for (size_t i : snap.by_symbol[pair]) snap.Mark(i, mark, D("10"));
    Decimal unrealized, maintenance;
    for (const paper::MarginedPosition& p : snap.positions) {
      const paper::Contribution c = paper::Contribute(p, D("10"));
      unrealized += c.unrealized;
      maintenance += c.maintenance;
    }
    ASSERT_EQ(snap.unrealized_sum, unrealized) << "step " << step;
    ASSERT_EQ(snap.maintenance_sum, maintenance) << "step " << step;
    const Decimal balance = D("300");
    EXPECT_EQ(paper::CrossDue(balance, snap.unrealized_sum, snap.maintenance_sum),
              !paper::PositionsToLiquidate(snap.positions, balance, D("10"), false).empty());
  }
}

}  // namespace
}  // namespace xctl
