// The StrategyManager with the real OrderRouter, Portfolio and PaperExchange (the
// default factory, paper only) on SQLite and PostgreSQL: signals and ticks
// become stored fills, a stopped strategy's trades are refused by control,
// and delete waits for the position to be closed. Prices come from a fixed
// table; ticks are handed over with DeliverTicks.
#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/status_macros.h"
#include "server/control/order_router.h"
#include "server/control/portfolio.h"
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
    portfolio_ = std::make_unique<Portfolio>(
        Portfolio::Deps{store_.get(), &prices_, &instruments_, &clock_});
    control_ = std::make_unique<OrderRouter>(
        OrderRouter::Deps{store_.get(), factory_.get(), portfolio_.get()});
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
  std::unique_ptr<Portfolio> portfolio_;
  std::unique_ptr<OrderRouter> control_;
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

// Replays (docs/strategies.md, "Replayed alerts"): an alert without a client
// order id gets one derived from its content and the minute, so the same
// alert posted again trades nothing, within the window and just past a
// minute boundary; a distinct alert (another {{timenow}} in the comment) and
// the same alert minutes later trade.
TEST_P(StrategyControlTest, ReplayedSignalsWithoutAClientOrderIdTradeOnce) {
  ASSERT_TRUE(manager_
                  ->Create({.spec = {.id = "tv", .type = "tradingview", .pairs = {"BTC-USDT"}},
                            .signal_secret = "s3",
                            .start = true})
                  .ok());
  const SignalRequest alert{.strategy_id = "tv", .action = "buy", .symbol = "BTC-USDT",
                            .quantity = "0.2", .secret = "s3",
                            .comment = "2024-05-01T10:00:00Z"};
  auto first = manager_->SubmitSignal(alert);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->replayed);
  const std::string id = first->order.client_order_id;
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(id.substr(0, 2), "tv");

  SignalRequest same = alert;
  same.action = "BUY";      // the same alert, spelled otherwise
  same.quantity = "0.20";
  auto replayed = manager_->SubmitSignal(same);
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_TRUE(replayed->replayed);
  EXPECT_EQ(replayed->order.client_order_id, id);
  EXPECT_EQ(StoredOrders("tv").size(), 1u);

  // Past the next minute boundary: still the same alert.
  clock_.Advance(absl::Seconds(45));
  auto later = manager_->SubmitSignal(alert);
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_TRUE(later->replayed);
  EXPECT_EQ(StoredOrders("tv").size(), 1u);

  // A distinct alert in the same minute trades.
  SignalRequest distinct = alert;
  distinct.comment = "2024-05-01T10:00:30Z";
  auto other = manager_->SubmitSignal(distinct);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_FALSE(other->replayed);
  EXPECT_NE(other->order.client_order_id, id);
  EXPECT_EQ(StoredOrders("tv").size(), 2u);

  // A close replayed closes once.
  const SignalRequest close{.strategy_id = "tv", .action = "close", .symbol = "BTC-USDT",
                            .secret = "s3"};
  auto closed = manager_->SubmitSignal(close);
  ASSERT_TRUE(closed.ok()) << closed.status();
  EXPECT_EQ(closed->order.quantity, D("0.4"));
  auto closed_again = manager_->SubmitSignal(close);
  ASSERT_TRUE(closed_again.ok()) << closed_again.status();
  EXPECT_TRUE(closed_again->replayed);
  EXPECT_EQ(StoredOrders("tv").size(), 3u);

  // Two minutes on, the window is over: the alert is a new trade.
  clock_.Advance(absl::Minutes(2));
  auto fresh = manager_->SubmitSignal(alert);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_FALSE(fresh->replayed);
  EXPECT_EQ(StoredOrders("tv").size(), 4u);
}

// A signal secret stored by older xctl (unsalted SHA-256 hex) keeps working;
// setting a secret again stores the salted form (docs/security.md).
TEST_P(StrategyControlTest, LegacySignalSecretHashesWorkUntilTheSecretIsSetAgain) {
  ASSERT_TRUE(store_->Transact([](Tx& tx) {
    return tx.strategies().Insert(StrategyRecord{
        .id = "old", .name = "old", .type = "tradingview", .pairs = {"BTC-USDT"},
        .starting_balance = Decimal::FromInt(10000), .running = true,
        // SHA-256 of "abc", as xctl stored it before.
        .signal_secret_hash =
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"});
  }).ok());
  manager_ = std::make_unique<StrategyManager>(store_.get(), control_.get(), nullptr, &registry_,
                                               nullptr, &clock_);
  ASSERT_TRUE(manager_->Start({}).ok());
  const SignalRequest buy{.strategy_id = "old", .action = "buy", .symbol = "BTC-USDT",
                          .quantity = "0.1", .secret = "abc", .client_order_id = "a1"};
  auto ok = manager_->SubmitSignal(buy);
  ASSERT_TRUE(ok.ok()) << ok.status();
  SignalRequest wrong = buy;
  wrong.secret = "abd";
  EXPECT_EQ(manager_->SubmitSignal(wrong).status().code(), absl::StatusCode::kPermissionDenied);

  ASSERT_TRUE(manager_->Update({.id = "old", .signal_secret = "a-new-long-secret"}).ok());
  std::optional<std::string> stored;
  ASSERT_TRUE(store_->Read([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(StrategyRecord r, tx.strategies().Get("old"));
    stored = r.signal_secret_hash;
    return absl::OkStatus();
  }).ok());
  ASSERT_TRUE(stored.has_value());
  EXPECT_THAT(*stored, ::testing::StartsWith("pbkdf2-sha256:"));
  EXPECT_EQ(manager_->SubmitSignal(buy).status().code(), absl::StatusCode::kPermissionDenied);
  SignalRequest fresh = buy;
  fresh.secret = "a-new-long-secret";
  fresh.client_order_id = "a2";
  EXPECT_TRUE(manager_->SubmitSignal(fresh).ok());
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
