// The built-in strategy types on a fake StrategyTrading, without a database:
// sma_cross decisions on hand-made price series (exact orders), tradingview's
// mapping of signals to orders, the registry, and signal parsing.
#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/strategy/external.h"
#include "server/strategy/registry.h"
#include "server/strategy/signal.h"
#include "server/strategy/sma_cross.h"
#include "server/strategy/tradingview.h"
#include "tests/strategy/fake_trading.h"

namespace xctl {
namespace {

using ::testing::HasSubstr;
using ::xctl::testing::FakeTrading;

Decimal D(absl::string_view s) { return Decimal::Parse(s).value(); }

Tick T(absl::string_view pair, absl::string_view last, bool stale = false) {
  Tick t;
  t.pair = std::string(pair);
  t.last = D(last);
  t.stale = stale;
  return t;
}

// "sell 1 BTC-USDT" for compact expectations.
std::string Describe(const OrderRequest& r) {
  return absl::StrCat(r.strategy_id, " ", ToString(r.side), " ", r.quantity.ToString(), " ",
                      r.symbol, " ", ToString(r.type),
                      r.price ? absl::StrCat(" at ", r.price->ToString()) : "",
                      r.client_order_id.empty() ? "" : absl::StrCat(" coid=", r.client_order_id));
}
std::vector<std::string> Describe(const std::vector<OrderRequest>& orders) {
  std::vector<std::string> out;
  for (const auto& o : orders) out.push_back(Describe(o));
  return out;
}

class SmaCrossTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(trading_.UpsertStrategy({.id = "sma", .type = "sma_cross", .running = true}).ok());
  }
  std::unique_ptr<Strategy> Make(StrategyParams params) {
    auto s = SmaCrossStrategy::Create({.id = "sma"}, params);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *std::move(s) : nullptr;
  }
  void Feed(Strategy& s, absl::string_view pair, const std::vector<std::string>& prices) {
    for (const auto& p : prices) s.OnTick(T(pair, p), context_);
  }

  FakeTrading trading_;
  StrategyContext context_{"sma", &trading_};
};

TEST_F(SmaCrossTest, DefaultsAreFiveTwentyAndOneContract) {
  auto p = SmaCrossStrategy::ParseParams({}).value();
  EXPECT_EQ(p.fast, 5);
  EXPECT_EQ(p.slow, 20);
  EXPECT_EQ(p.quantity, D("1"));
}

TEST_F(SmaCrossTest, FirstDecisionOnlyAfterSlowTicksAndOnlyOnACross) {
  auto s = Make({{"fast", "2"}, {"slow", "3"}});
  // Tick 3 fills the window with fast 11.5 above slow 11: remembered, not traded.
  Feed(*s, "BTC-USDT", {"10", "11", "12", "13"});
  EXPECT_TRUE(trading_.orders().empty());
}

TEST_F(SmaCrossTest, HandMadeSeriesGivesExactOrders) {
  auto s = Make({{"fast", "2"}, {"slow", "3"}, {"quantity", "1"}});
  // window (fast avg / slow avg) after each tick:
  //  10 11 12 -> 11.5 / 11     up (initial, no trade)
  //  13       -> 12.5 / 12     up
  //  10       -> 11.5 / 11.67  down: cross -> sell 1 (flat -> short 1)
  //  8        -> 9    / 10.33  down
  //  12       -> 10   / 10     equal: relation kept (down)
  //  14       -> 13   / 11.33  up: cross -> buy 2 (short 1 -> long 1)
  //  15       -> 14.5 / 13.67  up
  //  9        -> 12   / 12.67  down: cross -> sell 2 (long 1 -> short 1)
  Feed(*s, "BTC-USDT", {"10", "11", "12", "13", "10", "8", "12", "14", "15", "9"});
  EXPECT_THAT(Describe(trading_.orders()),
              ::testing::ElementsAre("sma sell 1 BTC-USDT market", "sma buy 2 BTC-USDT market",
                                     "sma sell 2 BTC-USDT market"));
  auto positions = trading_.OpenPositions("sma").value();
  ASSERT_EQ(positions.size(), 1u);
  EXPECT_EQ(positions[0].side, PositionSide::kShort);
  EXPECT_EQ(positions[0].quantity, D("1"));
}

TEST_F(SmaCrossTest, FractionalQuantityAndCrossDecidedExactly) {
  auto s = Make({{"fast", "2"}, {"slow", "3"}, {"quantity", "0.25"}});
  // 0.1 0.2 0.3: fast 0.25 > slow 0.2 (up). Then 0.15: fast 0.225 vs slow
  // 0.216666666666... : still up (a 9-place rounding of the slow average would
  // not change this, but the comparison is exact anyway). Then 0.1: fast 0.125
  // vs slow 0.183333...: down -> sell 0.25.
  Feed(*s, "ETH-USDT", {"0.1", "0.2", "0.3", "0.15", "0.1"});
  EXPECT_THAT(Describe(trading_.orders()), ::testing::ElementsAre("sma sell 0.25 ETH-USDT market"));
}

TEST_F(SmaCrossTest, EqualAveragesAtTheTieDoNotTrade) {
  auto s = Make({{"fast", "1"}, {"slow", "3"}});
  // 3 3 3: equal (no relation yet). 6: fast 6 > slow 4: first relation, no
  // trade. 3: fast 3 < slow 4: cross down -> sell. 4: window 6 3 4 -> slow
  // 4.333 fast 4: still down. 5: window 3 4 5 -> fast 5 > slow 4: buy 2.
  Feed(*s, "BTC-USDT", {"3", "3", "3", "6", "3", "4", "5"});
  EXPECT_THAT(Describe(trading_.orders()),
              ::testing::ElementsAre("sma sell 1 BTC-USDT market", "sma buy 2 BTC-USDT market"));
}

TEST_F(SmaCrossTest, StaleTicksAreIgnored) {
  auto s = Make({{"fast", "2"}, {"slow", "3"}});
  Feed(*s, "BTC-USDT", {"10", "11", "12"});
  s->OnTick(T("BTC-USDT", "1", /*stale=*/true), context_);  // would cross down
  EXPECT_TRUE(trading_.orders().empty());
  Feed(*s, "BTC-USDT", {"5"});  // window 11 12 5: fast 8.5 < slow 9.33
  EXPECT_THAT(Describe(trading_.orders()), ::testing::ElementsAre("sma sell 1 BTC-USDT market"));
}

TEST_F(SmaCrossTest, PairsHaveSeparateWindows) {
  auto s = Make({{"fast", "2"}, {"slow", "3"}});
  // Interleaved: each pair sees only its own prices.
  for (auto [btc, eth] : std::vector<std::pair<const char*, const char*>>{
           {"10", "100"}, {"11", "90"}, {"12", "80"}, {"5", "120"}}) {
    s->OnTick(T("BTC-USDT", btc), context_);
    s->OnTick(T("ETH-USDT", eth), context_);
  }
  // BTC: 10 11 12 up, then 11 12 5 down -> sell. ETH: 100 90 80 down, then
  // 90 80 120 fast 100 > slow 96.67 up -> buy.
  EXPECT_THAT(Describe(trading_.orders()),
              ::testing::ElementsAre("sma sell 1 BTC-USDT market", "sma buy 1 ETH-USDT market"));
}

TEST_F(SmaCrossTest, PositionClosedByHandIsTakenIntoAccount) {
  auto s = Make({{"fast", "2"}, {"slow", "3"}});
  Feed(*s, "BTC-USDT", {"10", "11", "12", "5"});  // sell 1
  trading_.SetNet("sma", "BTC-USDT", D("0"));      // closed by hand
  Feed(*s, "BTC-USDT", {"20"});                    // 12 5 20: up -> buy 1 only
  EXPECT_THAT(Describe(trading_.orders()),
              ::testing::ElementsAre("sma sell 1 BTC-USDT market", "sma buy 1 BTC-USDT market"));
}

TEST_F(SmaCrossTest, OrderErrorsAreLoggedNotThrownAndTheWindowMovesOn) {
  auto s = Make({{"fast", "2"}, {"slow", "3"}});
  trading_.FailOrders(absl::UnavailableError("exchange down"));
  EXPECT_NO_THROW(Feed(*s, "BTC-USDT", {"10", "11", "12", "5"}));
  ASSERT_EQ(trading_.orders().size(), 1u);  // tried once, refused
  trading_.FailOrders(std::nullopt);
  Feed(*s, "BTC-USDT", {"20"});  // up again; still flat -> buy 1
  EXPECT_THAT(Describe(trading_.orders()),
              ::testing::ElementsAre("sma sell 1 BTC-USDT market", "sma buy 1 BTC-USDT market"));
}

TEST_F(SmaCrossTest, BadParamsAreRefusedNamingTheParam) {
  auto check = [](StrategyParams p, absl::string_view expected) {
    auto s = SmaCrossStrategy::Create({.id = "x"}, p);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << expected;
    EXPECT_THAT(s.status().message(), HasSubstr(expected));
  };
  check({{"fast", "20"}, {"slow", "20"}}, "fast (20) must be smaller than slow (20)");
  check({{"fast", "0"}}, "sma_cross param fast: expected a whole number from 1 to 999, got \"0\"");
  check({{"slow", "x"}}, "sma_cross param slow: expected a whole number from 2 to 1000");
  check({{"quantity", "0"}}, "sma_cross param quantity: must be greater than 0");
  check({{"quantity", "-1"}}, "sma_cross param quantity: must be greater than 0");
  check({{"quantity", "abc"}}, "sma_cross param quantity:");
  check({{"fsat", "3"}}, "sma_cross has no param \"fsat\"; its params are: fast, slow, quantity");
}

// ---- tradingview -----------------------------------------------------------

class TradingViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(trading_.UpsertStrategy({.id = "tv", .running = true}).ok());
    strategy_ = TradingViewStrategy::Create({.id = "tv"}, {}).value();
  }
  FakeTrading trading_;
  StrategyContext context_{"tv", &trading_};
  std::unique_ptr<Strategy> strategy_;
};

TEST_F(TradingViewTest, BuyWithoutPriceIsAMarketOrder) {
  auto r = strategy_->OnSignal(
      {.action = SignalAction::kBuy, .symbol = "BTC-USDT", .quantity = D("0.5"),
       .client_order_id = "alert1"},
      context_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(Describe(trading_.orders()),
              ::testing::ElementsAre("tv buy 0.5 BTC-USDT market coid=alert1"));
}

TEST_F(TradingViewTest, SellWithPriceIsALimitOrder) {
  ASSERT_TRUE(strategy_
                  ->OnSignal({.action = SignalAction::kSell, .symbol = "BTC-USDT",
                              .quantity = D("2"), .price = D("65000.5")},
                             context_)
                  .ok());
  EXPECT_THAT(Describe(trading_.orders()),
              ::testing::ElementsAre("tv sell 2 BTC-USDT limit at 65000.5"));
}

TEST_F(TradingViewTest, CloseWithoutQuantityClosesAllAndWithQuantityPart) {
  trading_.SetNet("tv", "BTC-USDT", D("3"));
  ASSERT_TRUE(strategy_
                  ->OnSignal({.action = SignalAction::kClose, .symbol = "BTC-USDT",
                              .quantity = D("1")},
                             context_)
                  .ok());
  ASSERT_TRUE(
      strategy_->OnSignal({.action = SignalAction::kClose, .symbol = "BTC-USDT"}, context_).ok());
  auto closes = trading_.closes();
  ASSERT_EQ(closes.size(), 2u);
  EXPECT_EQ(closes[0].strategy_id, "tv");
  EXPECT_EQ(closes[0].request.quantity, D("1"));
  EXPECT_EQ(closes[1].request.quantity, std::nullopt);
  EXPECT_TRUE(trading_.OpenPositions("tv")->empty());
  EXPECT_TRUE(trading_.orders().empty());
}

TEST_F(TradingViewTest, TakesNoParams) {
  auto s = TradingViewStrategy::Create({.id = "tv"}, {{"size", "1"}});
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("tradingview has no param \"size\""));
}

TEST(StrategyContextTest, TradesOnlyUnderItsOwnId) {
  FakeTrading trading;
  ASSERT_TRUE(trading.UpsertStrategy({.id = "mine", .running = true}).ok());
  StrategyContext context("mine", &trading);
  ASSERT_TRUE(context
                  .PlaceOrder({.strategy_id = "someone-else", .symbol = "BTC-USDT",
                               .quantity = D("1")})
                  .ok());
  EXPECT_THAT(Describe(trading.orders()), ::testing::ElementsAre("mine buy 1 BTC-USDT market"));
}

TEST(ExternalStrategyTest, NeitherTicksNorSignalsAndFreeParams) {
  auto s = ExternalStrategy::Create({.id = "ext"}, {{"anything", "goes"}}).value();
  EXPECT_FALSE(s->price_driven());
  EXPECT_FALSE(s->signal_driven());
  FakeTrading trading;
  StrategyContext context("ext", &trading);
  auto r = s->OnSignal({.action = SignalAction::kBuy, .symbol = "BTC-USDT"}, context);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().message(), "strategy type external takes no signals");
}

// ---- registry --------------------------------------------------------------

TEST(StrategyRegistryTest, BuiltinsAreRegisteredOnce) {
  StrategyRegistry registry;
  ASSERT_TRUE(RegisterBuiltinStrategies(registry).ok());
  EXPECT_THAT(registry.Types(), ::testing::ElementsAre("external", "sma_cross", "tradingview"));
  EXPECT_EQ(RegisterBuiltinStrategies(registry).code(), absl::StatusCode::kAlreadyExists);
  auto sma = registry.Create("sma_cross", {.id = "a"}, {});
  ASSERT_TRUE(sma.ok());
  EXPECT_EQ((*sma)->type(), "sma_cross");
  EXPECT_TRUE((*sma)->price_driven());
}

TEST(StrategyRegistryTest, UnknownTypeListsTheKnownOnes) {
  StrategyRegistry registry;
  ASSERT_TRUE(RegisterBuiltinStrategies(registry).ok());
  auto s = registry.Create("aibot", {.id = "a"}, {});
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.status().message(),
            "unknown strategy type \"aibot\"; known types: external, sma_cross, tradingview");
}

TEST(StrategyRegistryTest, BadTypeNamesAreRefused) {
  StrategyRegistry registry;
  auto factory = [](const StrategyInfo&, const StrategyParams&)
      -> absl::StatusOr<std::unique_ptr<Strategy>> { return nullptr; };
  EXPECT_EQ(registry.Register("Bad Name", factory).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(registry.Register("nothing", factory).ok());
  EXPECT_EQ(registry.Create("nothing", {}, {}).status().code(), absl::StatusCode::kInternal);
}

// ---- signal parsing --------------------------------------------------------

TEST(ParseSignalTest, ParsesTradingViewFields) {
  Signal s = ParseSignal({.action = "BUY", .symbol = "BTC-USDT", .quantity = "0.1",
                          .price = "64000.5", .client_order_id = "a1", .comment = "long"})
                 .value();
  EXPECT_EQ(s.action, SignalAction::kBuy);
  EXPECT_EQ(s.symbol, "BTC-USDT");
  EXPECT_EQ(s.quantity, D("0.1"));
  EXPECT_EQ(s.price, D("64000.5"));
  EXPECT_EQ(s.client_order_id, "a1");
  EXPECT_EQ(s.comment, "long");
  Signal close = ParseSignal({.action = "close", .symbol = "ETH-USDT"}).value();
  EXPECT_EQ(close.action, SignalAction::kClose);
  EXPECT_EQ(close.quantity, std::nullopt);
}

TEST(ParseSignalTest, EachBadFieldIsNamed) {
  auto check = [](SignalRequest r, absl::string_view message) {
    auto s = ParseSignal(r);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << message;
    EXPECT_THAT(s.status().message(), HasSubstr(message));
  };
  check({.action = "hold", .symbol = "BTC-USDT", .quantity = "1"},
        "action: must be \"buy\", \"sell\" or \"close\", got \"hold\"");
  check({.action = "buy", .symbol = "BTCUSDT.P", .quantity = "1"},
        "symbol: invalid symbol \"BTCUSDT.P\"");
  check({.action = "buy", .symbol = "BTC-USDT", .quantity = "-1"},
        "quantity: must be greater than 0, got \"-1\"");
  check({.action = "buy", .symbol = "BTC-USDT", .quantity = "0"},
        "quantity: must be greater than 0, got \"0\"");
  check({.action = "buy", .symbol = "BTC-USDT", .quantity = "ten"}, "quantity: ");
  check({.action = "buy", .symbol = "BTC-USDT"}, "quantity: required for buy");
  check({.action = "sell", .symbol = "BTC-USDT", .quantity = "1", .price = "1e5"}, "price: ");
  check({.action = "sell", .symbol = "BTC-USDT", .quantity = "1", .price = "-5"},
        "price: must be greater than 0, got \"-5\"");
  check({.action = "close", .symbol = "BTC-USDT", .price = "5"}, "price: close is a market order");
}

}  // namespace
}  // namespace xctl
