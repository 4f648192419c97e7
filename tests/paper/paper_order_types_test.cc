// PaperExchange: order types post_only, ioc and fok (paper/arrival.h) and
// take-profit / stop-loss fired on ticks (paper/triggers.h), on a real store
// (SQLite file and PostgreSQL server) with a fixed price table and a fake
// clock. BTC-USDT: contract value 0.001, tick 0.1, taker 0.06%, maker 0.02%.
#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/clock.h"
#include "server/exchange/paper/paper_exchange.h"
#include "tests/support/fixed_prices.h"
#include "tests/support/test_databases.h"

namespace xctl {
namespace {

using ::testing::HasSubstr;
using ::xctl::testing::FixedPrices;

Decimal D(absl::string_view s) { return Decimal::Parse(s).value(); }

TriggerOrder At(absl::string_view trigger, absl::string_view price = "") {
  TriggerOrder t{.trigger_price = D(trigger)};
  if (!price.empty()) t.order_price = D(price);
  return t;
}

class PaperOrderTypesTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = std::make_unique<xctl::testing::TestDatabase>(GetParam());
    XCTL_REQUIRE_DATABASE(*db_);
    store_ = Store::Open({.url = db_->url()}).value();
    ASSERT_TRUE(store_->Transact([&](Tx& tx) {
      return tx.strategies().Insert({.id = "s1", .name = "S1", .type = "aibot",
                                     .pairs = {"BTC-USDT"}, .starting_balance = D("10000")});
    }).ok());
    Book("64000", "64000.5", "64000.2");
    Restart();
  }

  void Restart() {
    ex_.reset();
    ex_ = PaperExchange::Open({.strategy_id = "s1"}, {.store = store_.get(), .prices = &prices_,
                                                      .instruments = &instruments_,
                                                      .clock = &clock_})
              .value();
  }

  TickPtr Book(absl::string_view bid, absl::string_view ask, absl::string_view last) {
    return prices_.Set("BTC-USDT", bid, ask, last);
  }

  static OrderRequest Order(Side side, OrderType type, absl::string_view price,
                            absl::string_view qty = "1") {
    OrderRequest r{.strategy_id = "s1", .symbol = "BTC-USDT", .side = side, .type = type,
                   .quantity = D(qty)};
    if (!price.empty()) r.price = D(price);
    return r;
  }

  Position OpenPosition() {
    auto open = ex_->Positions().value();
    EXPECT_EQ(open.size(), 1u);
    return open.empty() ? Position{} : open[0];
  }

  std::unique_ptr<xctl::testing::TestDatabase> db_;
  std::unique_ptr<Store> store_;
  FixedPrices prices_;
  InstrumentCatalog instruments_{DefaultInstruments()};
  FakeClock clock_;
  std::unique_ptr<PaperExchange> ex_;
};

TEST_P(PaperOrderTypesTest, PostOnlyThatWouldTakeIsCanceledWithNothingFilled) {
  OrderResult r = ex_->PlaceOrder(Order(Side::kBuy, OrderType::kPostOnly, "64100")).value();
  EXPECT_EQ(r.order.status, OrderStatus::kCanceled);
  EXPECT_EQ(r.order.type, OrderType::kPostOnly);
  EXPECT_THAT(r.order.reject_reason, HasSubstr("post-only"));
  EXPECT_TRUE(r.fills.empty());
  EXPECT_TRUE(ex_->Positions()->empty());
  EXPECT_EQ(ex_->Balance()->balance, D("10000"));
  EXPECT_TRUE(ex_->OpenOrders()->empty());
}

TEST_P(PaperOrderTypesTest, PostOnlyThatDoesNotCrossRestsAndFillsAsMaker) {
  OrderResult r = ex_->PlaceOrder(Order(Side::kBuy, OrderType::kPostOnly, "63990")).value();
  EXPECT_EQ(r.order.status, OrderStatus::kOpen);
  EXPECT_TRUE(ex_->NeedsTicks());
  std::vector<OrderResult> filled = ex_->OnTick(*Book("63985", "63986", "63985.5"));
  ASSERT_EQ(filled.size(), 1u);
  EXPECT_EQ(filled[0].order.type, OrderType::kPostOnly);
  EXPECT_EQ(filled[0].fills[0].price, D("63990"));
  EXPECT_TRUE(filled[0].fills[0].maker);
  EXPECT_EQ(filled[0].fills[0].fee, D("0.012798"));  // 63990 x 0.001 x 0.02%
}

TEST_P(PaperOrderTypesTest, IocAndFokFillInFullWhenTheyCrossAsTaker) {
  for (OrderType type : {OrderType::kIoc, OrderType::kFok}) {
    OrderResult r = ex_->PlaceOrder(Order(Side::kBuy, type, "64100")).value();
    EXPECT_EQ(r.order.status, OrderStatus::kFilled) << ToString(type);
    ASSERT_EQ(r.fills.size(), 1u);
    EXPECT_EQ(r.fills[0].price, D("64000.5"));  // the ask, not the limit
    EXPECT_FALSE(r.fills[0].maker);
  }
  EXPECT_EQ(OpenPosition().quantity, D("2"));
  EXPECT_TRUE(ex_->OpenOrders().value().empty());  // nothing rests
  EXPECT_TRUE(ex_->NeedsTicks());  // the open position: funding and liquidation
}

TEST_P(PaperOrderTypesTest, IocAndFokThatDoNotCrossAreCanceledAndNeverRest) {
  for (OrderType type : {OrderType::kIoc, OrderType::kFok}) {
    OrderResult r = ex_->PlaceOrder(Order(Side::kSell, type, "64100")).value();
    EXPECT_EQ(r.order.status, OrderStatus::kCanceled) << ToString(type);
    EXPECT_TRUE(r.fills.empty());
    EXPECT_FALSE(r.order.reject_reason.empty());
  }
  EXPECT_TRUE(ex_->OpenOrders()->empty());
  EXPECT_FALSE(ex_->NeedsTicks());
  EXPECT_TRUE(ex_->OnTick(*Book("64200", "64200.5", "64200")).empty());
  EXPECT_TRUE(ex_->Positions()->empty());
}

TEST_P(PaperOrderTypesTest, IocWithoutAFreshPriceIsRefusedAndNothingStored) {
  prices_.Set("BTC-USDT", "64000", "64000.5", "64000.2", /*stale=*/true);
  auto r = ex_->PlaceOrder(Order(Side::kBuy, OrderType::kIoc, "64100"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("stale"));
  EXPECT_TRUE(ex_->OpenOrders()->empty());
}

TEST_P(PaperOrderTypesTest, BadTypesAndTriggersAreInvalid) {
  auto code = [&](const OrderRequest& r) { return ex_->PlaceOrder(r).status().code(); };
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  EXPECT_EQ(code(Order(Side::kBuy, OrderType::kPostOnly, "")), kInvalid);  // needs a price
  EXPECT_EQ(code(Order(Side::kBuy, OrderType::kFok, "")), kInvalid);
  OrderRequest r = Order(Side::kBuy, OrderType::kLimit, "63000");
  r.take_profit = At("62900");  // below a buy's price
  EXPECT_EQ(code(r), kInvalid);
  r.take_profit = At("65000.05");  // off the tick
  EXPECT_EQ(code(r), kInvalid);
  r.take_profit = At("65000", "64999.99");  // order price off the tick
  EXPECT_EQ(code(r), kInvalid);
  r.take_profit.reset();
  r.stop_loss = At("63100");  // above a buy's price
  EXPECT_EQ(code(r), kInvalid);
  OrderRequest sell = Order(Side::kSell, OrderType::kMarket, "");
  sell.stop_loss = At("63900");  // a sell's stop is above the latest price
  EXPECT_THAT(ex_->PlaceOrder(sell).status().message(), HasSubstr("latest price"));
  OrderRequest buy = Order(Side::kBuy, OrderType::kLimit, "63000");
  buy.take_profit = At("63500");  // above the order price, below the latest price
  EXPECT_EQ(code(buy), kInvalid);
  OrderRequest reduce = Order(Side::kSell, OrderType::kMarket, "");
  reduce.reduce_only = true;
  reduce.stop_loss = At("64500");
  EXPECT_THAT(ex_->PlaceOrder(reduce).status().message(), HasSubstr("reduce-only"));
  EXPECT_TRUE(ex_->Positions()->empty());
  EXPECT_TRUE(ex_->OpenOrders()->empty());
}

TEST_P(PaperOrderTypesTest, TakeProfitClosesAtMarketWhenTheLastPriceReachesIt) {
  OrderRequest buy = Order(Side::kBuy, OrderType::kMarket, "");
  buy.take_profit = At("64100");
  buy.stop_loss = At("63900");
  OrderResult opened = ex_->PlaceOrder(buy).value();
  EXPECT_EQ(opened.order.take_profit, At("64100"));
  ASSERT_EQ(opened.open_positions.size(), 1u);
  EXPECT_EQ(opened.open_positions[0].take_profit, At("64100"));
  EXPECT_EQ(opened.open_positions[0].stop_loss, At("63900"));
  EXPECT_TRUE(ex_->NeedsTicks());

  EXPECT_TRUE(ex_->OnTick(*Book("64098", "64098.5", "64099.9")).empty());
  std::vector<OrderResult> fired = ex_->OnTick(*Book("64099", "64099.5", "64100"));
  ASSERT_EQ(fired.size(), 1u);
  const OrderResult& close = fired[0];
  EXPECT_TRUE(close.order.reduce_only);
  EXPECT_EQ(close.order.side, Side::kSell);
  EXPECT_EQ(close.order.type, OrderType::kMarket);
  EXPECT_EQ(close.order.status, OrderStatus::kFilled);
  ASSERT_EQ(close.fills.size(), 1u);
  EXPECT_EQ(close.fills[0].price, D("64099"));  // sold at the bid
  ASSERT_EQ(close.closed_positions.size(), 1u);
  // (64099 - 64000.5) x 0.001 - 0.0384003 - 0.0384594
  EXPECT_EQ(close.closed_positions[0].pnl, D("0.0216403"));
  EXPECT_FALSE(close.closed_positions[0].take_profit);
  EXPECT_TRUE(ex_->Positions()->empty());
  EXPECT_FALSE(ex_->NeedsTicks());
  // The stop-loss leg is gone with it.
  EXPECT_TRUE(ex_->OnTick(*Book("63800", "63800.5", "63800")).empty());
}

TEST_P(PaperOrderTypesTest, StopLossWithAnOrderPriceRestsAReduceOnlyLimitAndDropsTheOtherLeg) {
  OrderRequest buy = Order(Side::kBuy, OrderType::kMarket, "");
  buy.take_profit = At("64500");
  buy.stop_loss = At("63900", "63950");
  ASSERT_TRUE(ex_->PlaceOrder(buy).ok());

  std::vector<OrderResult> fired = ex_->OnTick(*Book("63890", "63890.5", "63900"));
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].order.type, OrderType::kLimit);
  EXPECT_EQ(fired[0].order.price, D("63950"));
  EXPECT_EQ(fired[0].order.status, OrderStatus::kOpen);  // the bid is below it
  EXPECT_TRUE(fired[0].order.reduce_only);
  Position still = OpenPosition();
  EXPECT_FALSE(still.take_profit);
  EXPECT_FALSE(still.stop_loss);
  ASSERT_EQ(ex_->OpenOrders()->size(), 1u);
  // The take-profit leg was dropped: reaching it fills only the resting close.
  std::vector<OrderResult> later = ex_->OnTick(*Book("64500", "64500.5", "64500"));
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].order.id, fired[0].order.id);
  EXPECT_EQ(later[0].fills[0].price, D("63950"));
  EXPECT_TRUE(later[0].fills[0].maker);
  EXPECT_TRUE(ex_->Positions()->empty());
  EXPECT_FALSE(ex_->NeedsTicks());
}

TEST_P(PaperOrderTypesTest, AShortsTriggersAreMirrored) {
  OrderRequest sell = Order(Side::kSell, OrderType::kMarket, "");
  sell.take_profit = At("63000");
  sell.stop_loss = At("64500");
  ASSERT_TRUE(ex_->PlaceOrder(sell).ok());
  EXPECT_TRUE(ex_->OnTick(*Book("64400", "64400.5", "64400")).empty());
  std::vector<OrderResult> fired = ex_->OnTick(*Book("64500", "64500.5", "64500"));
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].order.side, Side::kBuy);
  EXPECT_EQ(fired[0].fills[0].price, D("64500.5"));  // bought at the ask
  EXPECT_TRUE(ex_->Positions()->empty());
}

TEST_P(PaperOrderTypesTest, TriggersSurviveARestart) {
  OrderRequest buy = Order(Side::kBuy, OrderType::kLimit, "63990");
  buy.client_order_id = "tpsl1";
  buy.take_profit = At("64200");
  ASSERT_TRUE(ex_->PlaceOrder(buy).ok());
  ASSERT_EQ(ex_->OnTick(*Book("63985", "63986", "63985.5")).size(), 1u);  // fills: armed
  Restart();
  EXPECT_TRUE(ex_->NeedsTicks());
  EXPECT_EQ(OpenPosition().take_profit, At("64200"));
  // A retry with the same id and the same TP is the stored order; another TP is not.
  EXPECT_TRUE(ex_->PlaceOrder(buy)->replayed);
  OrderRequest other = buy;
  other.take_profit = At("64300");
  EXPECT_EQ(ex_->PlaceOrder(other).status().code(), absl::StatusCode::kFailedPrecondition);
  std::vector<OrderResult> fired = ex_->OnTick(*Book("64200", "64200.5", "64200.1"));
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].fills[0].price, D("64200"));
  EXPECT_TRUE(ex_->Positions()->empty());
}

TEST_P(PaperOrderTypesTest, APositionClosedOtherwiseDropsItsTriggers) {
  OrderRequest buy = Order(Side::kBuy, OrderType::kMarket, "");
  buy.take_profit = At("64100");
  ASSERT_TRUE(ex_->PlaceOrder(buy).ok());
  ASSERT_TRUE(ex_->ClosePosition({.symbol = "BTC-USDT"}).ok());
  EXPECT_FALSE(ex_->NeedsTicks());
  ASSERT_TRUE(ex_->PlaceOrder(Order(Side::kBuy, OrderType::kMarket, "")).ok());
  EXPECT_FALSE(OpenPosition().take_profit);  // a new position has none
  EXPECT_TRUE(ex_->OnTick(*Book("64200", "64200.5", "64200")).empty());
  EXPECT_EQ(OpenPosition().quantity, D("1"));
}

INSTANTIATE_TEST_SUITE_P(Backends, PaperOrderTypesTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace xctl
