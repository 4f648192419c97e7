// Funding and liquidations in the KPIs (docs/kpis.md, "Funding, liquidations
// and the unexplained"): paper exchanges made by the default factory on a
// real store (SQLite file and PostgreSQL server), ticks fed by hand with a
// FakeClock across a funding settlement, then a liquidation; the figures per
// strategy, per type and over all, and again after a restart.
#include <memory>

#include "gtest/gtest.h"
#include "server/control/order_router.h"
#include "server/control/portfolio.h"
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

class MoneyKpisTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = std::make_unique<TestDatabase>(GetParam());
    XCTL_REQUIRE_DATABASE(*db_);
    store_ = Store::Open({.url = db_->url()}).value();
    clock_.Set(absl::FromUnixMillis(kT0));
    Restart();
    Tick("64000.5");
  }

  // The running sums agree with the rows and the store after every test.
  void TearDown() override {
    if (portfolio_) {
      EXPECT_EQ(portfolio_->CheckIntegrity(), absl::OkStatus());
    }
  }

  void Restart() {
    control_.reset();  // the router before the portfolio it hands results to
    portfolio_.reset();
    factory_ = std::make_unique<DefaultExchangeFactory>(
        DefaultExchangeFactory::Deps{.store = store_.get(), .prices = &prices_,
                                     .instruments = &instruments_, .clock = &clock_,
                                     .funding = &funding_},
        blofin::RestOptions{});
    portfolio_ = std::make_unique<Portfolio>(
        Portfolio::Deps{store_.get(), &prices_, &instruments_, &clock_});
    control_ = std::make_unique<OrderRouter>(
        OrderRouter::Deps{store_.get(), factory_.get(), portfolio_.get()});
    for (const auto& [id, type, balance] : {std::tuple{"long", "aibot", "10000"},
                                           std::tuple{"short", "aibot", "10000"},
                                           std::tuple{"thin", "scalper", "100"}}) {
      StrategyRecord r{.id = id, .name = id, .type = type, .pairs = {"BTC-USDT"},
                       .starting_balance = D(balance), .running = true};
      const std::string sid = id;  // clang 14 cannot capture a structured binding
      ASSERT_TRUE(store_->Transact([&](Tx& tx) -> absl::Status {
        return tx.strategies().Get(sid).ok() ? absl::OkStatus() : tx.strategies().Insert(r);
      }).ok());
      ASSERT_TRUE(control_->UpsertStrategy(StrategyInfo{.id = id, .type = type,
                                                        .pairs = {"BTC-USDT"}, .running = true,
                                                        .starting_balance = D(balance),
                                                        .leverage = D("10")}).ok());
    }
  }

  void Tick(absl::string_view price) {
    control_->OnTicks({prices_.Set("BTC-USDT", price, price, price)});
    control_->ProcessPendingTicks();
  }

  void Trade(const std::string& id, Side side) {
    ASSERT_TRUE(control_->PlaceOrder(OrderRequest{.strategy_id = id, .symbol = "BTC-USDT",
                                                  .side = side, .quantity = D("10")}).ok());
  }

  KpiFigures Kpis(const std::string& id, const std::string& type = "") {
    return portfolio_->GetKpis(id, type).value().total.figures;
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<Store> store_;
  FixedPrices prices_;
  FundingRateCache funding_;
  InstrumentCatalog instruments_{DefaultInstruments()};
  FakeClock clock_;
  std::unique_ptr<DefaultExchangeFactory> factory_;
  std::unique_ptr<Portfolio> portfolio_;
  std::unique_ptr<OrderRouter> control_;
};

TEST_P(MoneyKpisTest, FundingAndLiquidationsAreCountedPerStrategyTypeAndAllAndSurviveARestart) {
  Trade("long", Side::kBuy);
  Trade("short", Side::kSell);
  Trade("thin", Side::kBuy);
  funding_.Put({.pair = "BTC-USDT", .rate = D("0.0001"), .funding_time_ms = kSettlement});
  clock_.Set(absl::FromUnixMillis(kSettlement));
  Tick("64000.2");
  // 0.0001 x 10 x 0.001 x 64000.2 = 0.0640002: the longs pay, the short receives.
  KpiFigures l = Kpis("long");
  EXPECT_EQ(l.funding, D("-0.0640002"));
  // Equity: 10000 - fee 0.384003 + funding + unrealized (64000.2 - 64000.5) x 0.01.
  EXPECT_EQ(l.equity, D("10000") - D("0.384003") - D("0.0640002") - D("0.003"));
  EXPECT_EQ(l.total_pnl, D("-0.387003"));  // trading pnl stays net of fees only
  EXPECT_EQ(Kpis("short").funding, D("0.0640002"));
  EXPECT_EQ(Kpis("", "aibot").funding, D("0"));
  EXPECT_EQ(Kpis("", "scalper").funding, D("-0.0640002"));
  EXPECT_EQ(Kpis("", "").funding, D("-0.0640002"));
  EXPECT_EQ(control_->GetBalance("long")->account.balance,
            D("10000") - D("0.384003") - D("0.0640002"));

  Tick("64000.1");  // no second settlement
  EXPECT_EQ(Kpis("", "").funding, D("-0.0640002"));

  Tick("50000");  // "thin" (100 USDT, cross, 10x) is liquidated
  KpiFigures t = Kpis("thin");
  EXPECT_EQ(t.liquidations, 1);
  EXPECT_EQ(t.closed_trades, 1);
  EXPECT_EQ(t.open_positions, 0);
  EXPECT_EQ(t.equity, D("0"));  // what BloFin leaves of a cross account: nothing
  EXPECT_EQ(control_->GetBalance("thin")->account.balance, D("0"));
  EXPECT_EQ(Kpis("", "scalper").liquidations, 1);
  EXPECT_EQ(Kpis("", "aibot").liquidations, 0);
  EXPECT_EQ(Kpis("", "").liquidations, 1);
  const KpiFigures all = Kpis("", "");

  Restart();
  EXPECT_EQ(Kpis("long").funding, D("-0.0640002"));
  EXPECT_EQ(Kpis("thin").liquidations, 1);
  EXPECT_EQ(Kpis("thin").equity, D("0"));
  EXPECT_EQ(Kpis("", "").funding, all.funding);
  EXPECT_EQ(Kpis("", "").liquidations, 1);
  EXPECT_EQ(Kpis("", "").realized_pnl, all.realized_pnl);
}

INSTANTIATE_TEST_SUITE_P(Backends, MoneyKpisTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace xctl
