// The StrategyManager with the real ExchangeControl and PaperExchange (the
// default factory, paper only) on SQLite and PostgreSQL: signals and ticks
// become stored fills, a stopped strategy's trades are refused by control,
// and delete waits for the position to be closed. Prices come from a fixed
// table; ticks are handed over with DeliverTicks.
#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/control/exchange_control.h"
#include "server/strategy/strategy_manager.h"
#include "tests/support/fixed_prices.h"
#include "tests/support/test_databases.h"

namespace xctl {
namespace {

using ::testing::HasSubstr;
using ::xctl::testing::FixedPrices;
using ::xctl::testing::TestDatabase;

Decimal D(absl::string_view s) { return Decimal::Parse(s).value(); }

class StrategyControlTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = std::make_unique<TestDatabase>(GetParam());
    XCTL_REQUIRE_DATABASE(*db_);
    store_ = Store::Open({.url = db_->url()}).value();
    prices_.Set("BTC-USDT", "64000", "64000.5", "64000.2");
    factory_ = std::make_unique<DefaultExchangeFactory>(
        DefaultExchangeFactory::Deps{store_.get(), &prices_, &instruments_, &clock_},
        blofin::RestOptions());
    control_ = std::make_unique<ExchangeControl>(
        ExchangeControl::Deps{store_.get(), &prices_, &instruments_, factory_.get(), &clock_});
    ASSERT_TRUE(RegisterBuiltinStrategies(registry_).ok());
    manager_ = std::make_unique<StrategyManager>(store_.get(), control_.get(), nullptr,
                                                 &registry_, nullptr, &clock_);
    ASSERT_TRUE(manager_->Start({}).ok());
  }

  std::vector<Order> StoredOrders(const std::string& id) {
    std::vector<Order> out;
    EXPECT_TRUE(store_->Read([&](Tx& tx) -> absl::Status {
      out = tx.orders().List({.strategy_id = id}, {}).value();
      return absl::OkStatus();
    }).ok());
    std::reverse(out.begin(), out.end());  // oldest first
    return out;
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<Store> store_;
  FixedPrices prices_;
  InstrumentCatalog instruments_{DefaultInstruments()};
  FakeClock clock_;
  StrategyRegistry registry_;
  std::unique_ptr<DefaultExchangeFactory> factory_;
  std::unique_ptr<ExchangeControl> control_;
  std::unique_ptr<StrategyManager> manager_;
};

TEST_P(StrategyControlTest, SignalsFillOnPaperAndDeleteWaitsForTheClose) {
  ASSERT_TRUE(manager_
                  ->Create({.spec = {.id = "tv", .type = "tradingview", .pairs = {"BTC-USDT"}},
                            .signal_secret = "s3",
                            .start = true})
                  .ok());
  auto buy = manager_->SubmitSignal({.strategy_id = "tv", .action = "buy", .symbol = "BTC-USDT",
                                     .quantity = "0.2", .secret = "s3",
                                     .client_order_id = "alert1"});
  ASSERT_TRUE(buy.ok()) << buy.status();
  EXPECT_EQ(buy->order.status, OrderStatus::kFilled);
  EXPECT_EQ(buy->order.average_price, D("64000.5"));  // market buy at the ask
  EXPECT_EQ(buy->order.mode, TradingMode::kPaper);
  ASSERT_EQ(buy->fills.size(), 1u);

  // The same alert again trades nothing.
  auto again = manager_->SubmitSignal({.strategy_id = "tv", .action = "buy",
                                       .symbol = "BTC-USDT", .quantity = "0.2", .secret = "s3",
                                       .client_order_id = "alert1"});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(StoredOrders("tv").size(), 1u);

  ASSERT_TRUE(manager_->StopStrategy("tv").ok());
  auto refused = control_->PlaceOrder(
      {.strategy_id = "tv", .symbol = "BTC-USDT", .side = Side::kBuy, .quantity = D("0.1")});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  absl::Status del = manager_->Delete("tv");
  EXPECT_EQ(del.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(del.message(), HasSubstr("open positions or resting orders"));

  ASSERT_TRUE(manager_->StartStrategy("tv").ok());
  auto close = manager_->SubmitSignal(
      {.strategy_id = "tv", .action = "close", .symbol = "BTC-USDT", .secret = "s3"});
  ASSERT_TRUE(close.ok()) << close.status();
  EXPECT_EQ(close->order.side, Side::kSell);
  EXPECT_EQ(close->order.quantity, D("0.2"));
  EXPECT_TRUE(control_->OpenPositions("tv")->empty());
  ASSERT_TRUE(manager_->StopStrategy("tv").ok());
  ASSERT_TRUE(manager_->Delete("tv").ok());
  EXPECT_FALSE(control_->Info("tv").has_value());
}

TEST_P(StrategyControlTest, SmaCrossTicksBecomeStoredOrders) {
  ASSERT_TRUE(manager_
                  ->Create({.spec = {.id = "sma", .type = "sma_cross", .pairs = {"BTC-USDT"},
                                     .params = {{"fast", "2"}, {"slow", "3"},
                                                {"quantity", "0.1"}}},
                            .start = true})
                  .ok());
  // The series of strategy_types_test: sell 0.1 at 10, buy 0.2 at 14, sell 0.2 at 9.
  for (const char* p : {"10", "11", "12", "13", "10", "8", "12", "14", "15", "9"}) {
    manager_->DeliverTicks({prices_.Set("BTC-USDT", "", "", p)});
    manager_->DrainTrading();  // the order fills at this tick's price
  }
  std::vector<Order> orders = StoredOrders("sma");
  ASSERT_EQ(orders.size(), 3u);
  EXPECT_EQ(orders[0].side, Side::kSell);
  EXPECT_EQ(orders[0].quantity, D("0.1"));
  EXPECT_EQ(orders[0].average_price, D("10"));
  EXPECT_EQ(orders[1].side, Side::kBuy);
  EXPECT_EQ(orders[1].quantity, D("0.2"));
  EXPECT_EQ(orders[1].average_price, D("14"));
  EXPECT_EQ(orders[2].side, Side::kSell);
  EXPECT_EQ(orders[2].quantity, D("0.2"));
  EXPECT_EQ(orders[2].average_price, D("9"));
  std::vector<Position> open = control_->OpenPositions("sma").value();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].side, PositionSide::kShort);
  EXPECT_EQ(open[0].quantity, D("0.1"));
}

INSTANTIATE_TEST_SUITE_P(Backends, StrategyControlTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace xctl
