// PaperExchange on a real store (SQLite file and PostgreSQL server), with a
// fixed price table and a fake clock. Numbers are BTC-USDT (contract value
// 0.001 BTC, lot and tick 0.1), taker 0.06%, maker 0.02%, worked out by hand
// with exact decimals.
#include "server/exchange/paper/paper_exchange.h"

#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/clock.h"
#include "server/common/error_reason.h"
#include "tests/support/fixed_prices.h"
#include "tests/support/test_databases.h"

namespace xctl {
namespace {

using ::testing::HasSubstr;
using ::xctl::testing::FixedPrices;
using ::xctl::testing::TestDatabase;

Decimal D(absl::string_view s) { return Decimal::Parse(s).value(); }

class PaperExchangeTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = std::make_unique<TestDatabase>(GetParam());
    XCTL_REQUIRE_DATABASE(*db_);
    auto store = Store::Open({.url = db_->url()});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    StrategyRecord s{.id = "s1", .name = "S1", .type = "aibot", .pairs = {"BTC-USDT"},
                     .starting_balance = D("10000")};
    ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.strategies().Insert(s); }).ok());
    prices_.Set("BTC-USDT", "64000", "64000.5", "64000.2");
    Reopen();
  }

  void Reopen(PaperAccountConfig config = {.strategy_id = "s1"}) {
    exchange_.reset();
    auto ex = PaperExchange::Open(config, {.store = store_.get(), .prices = &prices_,
                                           .instruments = &instruments_, .clock = &clock_});
    ASSERT_TRUE(ex.ok()) << ex.status();
    exchange_ = *std::move(ex);
  }

  OrderRequest Market(Side side, absl::string_view qty, std::string coid = "") {
    return OrderRequest{.strategy_id = "s1", .client_order_id = std::move(coid),
                        .symbol = "BTC-USDT", .side = side, .type = OrderType::kMarket,
                        .quantity = D(qty)};
  }
  OrderRequest Limit(Side side, absl::string_view price, absl::string_view qty) {
    OrderRequest r = Market(side, qty);
    r.type = OrderType::kLimit;
    r.price = D(price);
    return r;
  }

  std::vector<Order> StoredOrders() {
    std::vector<Order> out;
    EXPECT_TRUE(store_->Read([&](Tx& tx) -> absl::Status {
      auto list = tx.orders().List({.strategy_id = "s1"}, {});
      if (!list.ok()) return list.status();
      out = *list;
      return absl::OkStatus();
    }).ok());
    return out;
  }
  std::vector<Position> StoredPositions(std::optional<PositionStatus> status) {
    std::vector<Position> out;
    EXPECT_TRUE(store_->Read([&](Tx& tx) -> absl::Status {
      auto list = tx.positions().List({.strategy_id = "s1", .status = status}, {});
      if (!list.ok()) return list.status();
      out = *list;
      return absl::OkStatus();
    }).ok());
    return out;
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<Store> store_;
  FixedPrices prices_;
  InstrumentCatalog instruments_{DefaultInstruments()};
  FakeClock clock_;
  std::unique_ptr<PaperExchange> exchange_;
};

TEST_P(PaperExchangeTest, NewAccountStartsAtTheStartingBalance) {
  Account a = exchange_->Balance().value();
  EXPECT_EQ(a.starting_balance, D("10000"));
  EXPECT_EQ(a.balance, D("10000"));
  EXPECT_EQ(a.margin_used, D("0"));
  EXPECT_EQ(exchange_->name(), "paper");
  EXPECT_EQ(exchange_->mode(), TradingMode::kPaper);
}

TEST_P(PaperExchangeTest, MarketBuyFillsAtTheAskWithTakerFeeAndIsStored) {
  OrderResult r = exchange_->PlaceOrder(Market(Side::kBuy, "1")).value();
  EXPECT_EQ(r.order.status, OrderStatus::kFilled);
  EXPECT_EQ(r.order.average_price, D("64000.5"));
  EXPECT_EQ(r.order.fee, D("0.0384003"));
  EXPECT_FALSE(r.order.client_order_id.empty());
  ASSERT_EQ(r.fills.size(), 1u);
  EXPECT_FALSE(r.fills[0].maker);
  EXPECT_EQ(r.fills[0].fee, D("0.0384003"));
  ASSERT_EQ(r.open_positions.size(), 1u);
  EXPECT_EQ(r.open_positions[0].side, PositionSide::kLong);
  EXPECT_EQ(r.open_positions[0].open_price, D("64000.5"));
  EXPECT_EQ(r.open_positions[0].fees, D("0.0384003"));
  EXPECT_EQ(r.open_positions[0].exchange, "paper");

  Account a = exchange_->Balance().value();
  EXPECT_EQ(a.balance, D("9999.9615997"));
  EXPECT_EQ(a.margin_used, D("64.0005"));
  ASSERT_EQ(StoredOrders().size(), 1u);
  EXPECT_EQ(StoredOrders()[0].fee, D("0.0384003"));
  EXPECT_EQ(StoredPositions(PositionStatus::kOpen).size(), 1u);
}

TEST_P(PaperExchangeTest, MarketSellFillsAtTheBidAndAtLastWithoutABook) {
  EXPECT_EQ(exchange_->PlaceOrder(Market(Side::kSell, "1")).value().order.average_price,
            D("64000"));
  prices_.Set("BTC-USDT", "", "", "64010.3");
  EXPECT_EQ(exchange_->PlaceOrder(Market(Side::kSell, "1")).value().order.average_price,
            D("64010.3"));
}

TEST_P(PaperExchangeTest, RoundTripPnlIsPriceMoveTimesContractValueMinusBothFees) {
  ASSERT_TRUE(exchange_->PlaceOrder(Market(Side::kBuy, "1")).ok());
  prices_.Set("BTC-USDT", "64100", "64100.5", "64100.2");
  OrderResult r = exchange_->PlaceOrder(Market(Side::kSell, "1")).value();
  ASSERT_EQ(r.closed_positions.size(), 1u);
  const Position& closed = r.closed_positions[0];
  EXPECT_EQ(closed.status, PositionStatus::kClosed);
  EXPECT_EQ(closed.close_price, D("64100"));
  // (64100 - 64000.5) x 1 x 0.001 - 0.0384003 - 0.03846
  EXPECT_EQ(closed.pnl, D("0.0226397"));
  EXPECT_TRUE(r.open_positions.empty());
  Account a = exchange_->Balance().value();
  EXPECT_EQ(a.balance, D("10000.0226397"));
  EXPECT_EQ(a.margin_used, D("0"));
  EXPECT_TRUE(exchange_->Positions().value().empty());
}

TEST_P(PaperExchangeTest, AFillLargerThanThePositionClosesItAndOpensTheOtherSide) {
  ASSERT_TRUE(exchange_->PlaceOrder(Market(Side::kBuy, "1")).ok());
  prices_.Set("BTC-USDT", "64100", "64100.5", "64100.2");
  OrderResult r = exchange_->PlaceOrder(Market(Side::kSell, "3")).value();
  ASSERT_EQ(r.closed_positions.size(), 1u);
  EXPECT_EQ(r.closed_positions[0].pnl, D("0.0226397"));
  ASSERT_EQ(r.open_positions.size(), 1u);
  EXPECT_EQ(r.open_positions[0].side, PositionSide::kShort);
  EXPECT_EQ(r.open_positions[0].quantity, D("2"));
  EXPECT_EQ(r.open_positions[0].fees, D("0.07692"));
  EXPECT_EQ(exchange_->Balance()->balance, D("9999.9457197"));
  EXPECT_EQ(StoredPositions(PositionStatus::kOpen).size(), 1u);
  EXPECT_EQ(StoredPositions(PositionStatus::kClosed).size(), 1u);
}

TEST_P(PaperExchangeTest, PartialCloseSplitsTheRow) {
  ASSERT_TRUE(exchange_->PlaceOrder(Market(Side::kBuy, "1")).ok());
  prices_.Set("BTC-USDT", "64100", "64100.5", "64100.2");
  OrderResult r =
      exchange_->ClosePosition({.symbol = "BTC-USDT", .quantity = D("0.4")}).value();
  EXPECT_TRUE(r.order.reduce_only);
  EXPECT_EQ(r.order.side, Side::kSell);
  ASSERT_EQ(r.closed_positions.size(), 1u);
  EXPECT_EQ(r.closed_positions[0].quantity, D("0.4"));
  EXPECT_EQ(r.closed_positions[0].close_price, D("64100"));
  ASSERT_EQ(r.open_positions.size(), 1u);
  EXPECT_EQ(r.open_positions[0].quantity, D("0.6"));
  EXPECT_NE(r.open_positions[0].id, r.closed_positions[0].id);
  EXPECT_EQ(StoredPositions(PositionStatus::kClosed).size(), 1u);
  // The rest closes with no quantity given.
  r = exchange_->ClosePosition({.symbol = "BTC-USDT"}).value();
  EXPECT_EQ(r.order.quantity, D("0.6"));
  EXPECT_TRUE(exchange_->Positions().value().empty());
}

TEST_P(PaperExchangeTest, ClosingNothingOrTooMuchIsRefused) {
  auto none = exchange_->ClosePosition({.symbol = "BTC-USDT"});
  EXPECT_EQ(none.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(none.status().message(), HasSubstr("no open position in BTC-USDT"));
  ASSERT_TRUE(exchange_->PlaceOrder(Market(Side::kBuy, "1")).ok());
  auto too_much = exchange_->ClosePosition({.symbol = "BTC-USDT", .quantity = D("2")});
  EXPECT_EQ(too_much.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(too_much.status().message(), HasSubstr("open long position in BTC-USDT is 1"));
  auto reduce_wrong_way = Market(Side::kBuy, "1");
  reduce_wrong_way.reduce_only = true;
  EXPECT_EQ(exchange_->PlaceOrder(reduce_wrong_way).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_P(PaperExchangeTest, MissingOrStalePriceTradesNothing) {
  prices_.Set("BTC-USDT", "64000", "64000.5", "64000.2", /*stale=*/true);
  auto stale = exchange_->PlaceOrder(Market(Side::kBuy, "1"));
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(stale.status().message(), HasSubstr("stale"));
  prices_.Remove("BTC-USDT");
  auto missing = exchange_->PlaceOrder(Market(Side::kBuy, "1", "retry-me"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(missing.status().message(), HasSubstr("no price for BTC-USDT"));
  EXPECT_TRUE(StoredOrders().empty());
  EXPECT_EQ(exchange_->Balance()->balance, D("10000"));
  // The same client order id works once the price is back.
  prices_.Set("BTC-USDT", "64000", "64000.5", "64000.2");
  EXPECT_TRUE(exchange_->PlaceOrder(Market(Side::kBuy, "1", "retry-me")).ok());
}

TEST_P(PaperExchangeTest, OffLotOffTickAndBadRequestsAreInvalid) {
  auto lot = exchange_->PlaceOrder(Market(Side::kBuy, "0.15"));
  EXPECT_EQ(lot.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(lot.status().message(), HasSubstr("lot size 0.1 (try 0.1 or 0.2)"));
  auto tick = exchange_->PlaceOrder(Limit(Side::kBuy, "63000.05", "1"));
  EXPECT_THAT(tick.status().message(), HasSubstr("tick size 0.1"));
  OrderRequest no_price = Limit(Side::kBuy, "1", "1");
  no_price.price.reset();
  EXPECT_EQ(exchange_->PlaceOrder(no_price).status().code(), absl::StatusCode::kInvalidArgument);
  OrderRequest priced_market = Market(Side::kBuy, "1");
  priced_market.price = D("1");
  EXPECT_EQ(exchange_->PlaceOrder(priced_market).status().code(),
            absl::StatusCode::kInvalidArgument);
  OrderRequest other = Market(Side::kBuy, "1");
  other.strategy_id = "s2";
  EXPECT_EQ(exchange_->PlaceOrder(other).status().code(), absl::StatusCode::kInvalidArgument);
  OrderRequest unknown = Market(Side::kBuy, "1");
  unknown.symbol = "PEPE-USDT";
  EXPECT_EQ(exchange_->PlaceOrder(unknown).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(StoredOrders().empty());
}

TEST_P(PaperExchangeTest, NotEnoughMarginIsRefusedWithTheNumbers) {
  // A second strategy with a 100 USDT account.
  StrategyRecord s{.id = "small", .name = "Small", .type = "aibot", .pairs = {"BTC-USDT"},
                   .starting_balance = D("100")};
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.strategies().Insert(s); }).ok());
  auto small = PaperExchange::Open(
      {.strategy_id = "small", .starting_balance = D("100")},
      {.store = store_.get(), .prices = &prices_, .instruments = &instruments_, .clock = &clock_});
  ASSERT_TRUE(small.ok()) << small.status();
  OrderRequest two = Market(Side::kBuy, "2");
  two.strategy_id = "small";
  auto refused = (*small)->PlaceOrder(two);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(),
              HasSubstr("needs 128.0778006 USDT (initial margin 128.001 at 1x leverage + fee "
                        "0.0768006), available 100 USDT"));
  EXPECT_EQ((*small)->Balance()->balance, D("100"));
  // At 10x leverage the same order fits.
  small->reset();
  auto levered = PaperExchange::Open(
      {.strategy_id = "small", .starting_balance = D("100"), .leverage = D("10")},
      {.store = store_.get(), .prices = &prices_, .instruments = &instruments_, .clock = &clock_});
  ASSERT_TRUE(levered.ok());
  OrderResult r = (*levered)->PlaceOrder(two).value();
  EXPECT_EQ(r.order.status, OrderStatus::kFilled);
  EXPECT_EQ((*levered)->Balance()->margin_used, D("12.8001"));
}

TEST_P(PaperExchangeTest, LimitOrderRestsThenFillsAtTheLimitAsMaker) {
  OrderResult placed = exchange_->PlaceOrder(Limit(Side::kBuy, "63990", "1")).value();
  EXPECT_EQ(placed.order.status, OrderStatus::kOpen);
  EXPECT_TRUE(placed.fills.empty());
  EXPECT_EQ(exchange_->OpenOrders()->size(), 1u);
  EXPECT_EQ(exchange_->Balance()->margin_used, D("63.99"));  // reserved

  EXPECT_TRUE(exchange_->OnTick(*prices_.Set("BTC-USDT", "63994", "63995", "63994.5")).empty());
  // A stale tick never fills.
  EXPECT_TRUE(
      exchange_->OnTick(*prices_.Set("BTC-USDT", "63980", "63981", "63980", true)).empty());
  std::vector<OrderResult> filled =
      exchange_->OnTick(*prices_.Set("BTC-USDT", "63985", "63986", "63985.5"));
  ASSERT_EQ(filled.size(), 1u);
  EXPECT_EQ(filled[0].order.status, OrderStatus::kFilled);
  EXPECT_EQ(filled[0].fills[0].price, D("63990"));
  EXPECT_TRUE(filled[0].fills[0].maker);
  EXPECT_EQ(filled[0].fills[0].fee, D("0.012798"));
  EXPECT_TRUE(exchange_->OpenOrders()->empty());
  Account a = exchange_->Balance().value();
  EXPECT_EQ(a.balance, D("9999.987202"));
  EXPECT_EQ(a.margin_used, D("63.99"));  // now the position's margin
  // Nothing more to fill.
  EXPECT_TRUE(exchange_->OnTick(*prices_.Set("BTC-USDT", "63900", "63901", "63900")).empty());
}

TEST_P(PaperExchangeTest, MarketableLimitOrderTakesTheBook) {
  OrderResult r = exchange_->PlaceOrder(Limit(Side::kBuy, "64100", "1")).value();
  EXPECT_EQ(r.order.status, OrderStatus::kFilled);
  EXPECT_EQ(r.fills[0].price, D("64000.5"));
  EXPECT_FALSE(r.fills[0].maker);
}

TEST_P(PaperExchangeTest, CancelRestingOrder) {
  OrderResult placed = exchange_->PlaceOrder(Limit(Side::kSell, "65000", "1")).value();
  Order cancelled = exchange_->CancelOrder({.order_id = placed.order.id}).value();
  EXPECT_EQ(cancelled.status, OrderStatus::kCanceled);
  EXPECT_EQ(exchange_->Balance()->margin_used, D("0"));
  EXPECT_TRUE(exchange_->OnTick(*prices_.Set("BTC-USDT", "65001", "65002", "65001")).empty());
  auto again = exchange_->CancelOrder({.order_id = placed.order.id});
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(again.status().message(), HasSubstr("already canceled"));
  EXPECT_EQ(exchange_->CancelOrder({.order_id = 999999}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(exchange_->CancelOrder({.client_order_id = "nope"}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(exchange_->CancelOrder({}).status().code(), absl::StatusCode::kInvalidArgument);
  OrderRequest by_coid = Limit(Side::kSell, "66000", "1");
  by_coid.client_order_id = "mine";
  ASSERT_TRUE(exchange_->PlaceOrder(by_coid).ok());
  EXPECT_EQ(exchange_->CancelOrder({.client_order_id = "mine"})->status, OrderStatus::kCanceled);
}

TEST_P(PaperExchangeTest, ClientOrderIdRetryReturnsTheStoredResult) {
  OrderResult first = exchange_->PlaceOrder(Market(Side::kBuy, "1", "abc")).value();
  prices_.Set("BTC-USDT", "65000", "65000.5", "65000.2");
  OrderResult retry = exchange_->PlaceOrder(Market(Side::kBuy, "1", "abc")).value();
  EXPECT_TRUE(retry.replayed);
  EXPECT_EQ(retry.order.id, first.order.id);
  EXPECT_EQ(retry.order.average_price, D("64000.5"));
  ASSERT_EQ(retry.fills.size(), 1u);
  EXPECT_EQ(StoredOrders().size(), 1u);
  EXPECT_EQ(exchange_->Balance()->balance, D("9999.9615997"));
  auto different = exchange_->PlaceOrder(Market(Side::kSell, "1", "abc"));
  EXPECT_EQ(different.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(different.status().message(), HasSubstr("already used for a different order"));
}

// The stored result answers a retry before anything the retry would fail
// now (the order's insert finds the id taken; a stale price or the margin
// refuse the new attempt, and the lookup of the id comes first): a retry
// never trades twice and never turns into an error.
TEST_P(PaperExchangeTest, ClientOrderIdRetryIsReplayedWhateverWouldRefuseItNow) {
  OrderResult market = exchange_->PlaceOrder(Market(Side::kBuy, "1", "m1")).value();
  OrderRequest limit = Limit(Side::kBuy, "60000", "1");
  limit.client_order_id = "l1";
  OrderResult resting = exchange_->PlaceOrder(limit).value();
  ASSERT_EQ(resting.order.status, OrderStatus::kOpen);
  const Account before = exchange_->Balance().value();

  // The resting order again, at the same price: its stored row, not a second.
  OrderResult again = exchange_->PlaceOrder(limit).value();
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(again.order.id, resting.order.id);
  // A stale price refuses a new market order, not the retry of a stored one.
  prices_.Set("BTC-USDT", "64000", "64000.5", "64000.2", /*stale=*/true);
  OrderResult stale_retry = exchange_->PlaceOrder(Market(Side::kBuy, "1", "m1")).value();
  EXPECT_TRUE(stale_retry.replayed);
  EXPECT_EQ(stale_retry.order.id, market.order.id);
  EXPECT_EQ(exchange_->PlaceOrder(Market(Side::kBuy, "1", "m2")).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // Neither does a margin the account no longer has: 1,000 contracts would
  // need far more than the balance.
  prices_.Set("BTC-USDT", "64000", "64000.5", "64000.2");
  auto too_big = exchange_->PlaceOrder(Market(Side::kBuy, "1000", "m3"));
  EXPECT_EQ(ReasonOf(too_big.status()), reason::kInsufficientMargin) << too_big.status();
  EXPECT_TRUE(exchange_->PlaceOrder(Market(Side::kBuy, "1", "m1"))->replayed);
  // Nothing of the refused or replayed attempts was stored.
  EXPECT_EQ(StoredOrders().size(), 2u);
  EXPECT_EQ(exchange_->Balance()->balance, before.balance);
  EXPECT_EQ(exchange_->Balance()->margin_used, before.margin_used);
}

TEST_P(PaperExchangeTest, AccountPositionsAndRestingOrdersSurviveARestart) {
  ASSERT_TRUE(exchange_->PlaceOrder(Market(Side::kBuy, "1")).ok());
  ASSERT_TRUE(exchange_->PlaceOrder(Limit(Side::kBuy, "63000", "2")).ok());
  Account before = exchange_->Balance().value();
  EXPECT_EQ(before.margin_used, D("190.0005"));

  // A new process: a new store connection and a new exchange object.
  exchange_.reset();
  store_.reset();
  store_ = Store::Open({.url = db_->url()}).value();
  Reopen();
  Account after = exchange_->Balance().value();
  EXPECT_EQ(after.balance, before.balance);
  EXPECT_EQ(after.margin_used, before.margin_used);
  ASSERT_EQ(exchange_->Positions()->size(), 1u);
  ASSERT_EQ(exchange_->OpenOrders()->size(), 1u);
  std::vector<OrderResult> filled =
      exchange_->OnTick(*prices_.Set("BTC-USDT", "62999", "63000", "62999.5"));
  ASSERT_EQ(filled.size(), 1u);
  ASSERT_EQ(filled[0].open_positions.size(), 1u);
  EXPECT_EQ(filled[0].open_positions[0].quantity, D("3"));
  // Average of 1 @ 64000.5 and 2 @ 63000.
  EXPECT_EQ(filled[0].open_positions[0].open_price, D("63333.5"));
}

TEST_P(PaperExchangeTest, RestingReduceOnlyOrderIsCancelledWhenItsPositionIsGone) {
  ASSERT_TRUE(exchange_->PlaceOrder(Market(Side::kBuy, "1")).ok());
  OrderRequest take_profit = Limit(Side::kSell, "65000", "1");
  take_profit.reduce_only = true;
  ASSERT_TRUE(exchange_->PlaceOrder(take_profit).ok());
  EXPECT_EQ(exchange_->Balance()->margin_used, D("64.0005"));  // no reservation
  ASSERT_TRUE(exchange_->ClosePosition({.symbol = "BTC-USDT"}).ok());
  std::vector<OrderResult> r =
      exchange_->OnTick(*prices_.Set("BTC-USDT", "65000", "65000.5", "65000"));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].order.status, OrderStatus::kCanceled);
  EXPECT_TRUE(r[0].fills.empty());
  EXPECT_TRUE(exchange_->Positions()->empty());
}

// The order that was FILLED while Notional saturated near 9.22e9: 922,337,203
// BTC contracts on a 100,000 USDT account at 100x. Refused, and nothing of it
// stored, whether the instrument caps the size or not.
TEST_P(PaperExchangeTest, TheHostileOrderIsRefusedAndNothingIsStored) {
  StrategyRecord s{.id = "hostile", .name = "Hostile", .type = "aibot", .pairs = {"BTC-USDT"},
                   .starting_balance = D("100000")};
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.strategies().Insert(s); }).ok());
  Instrument uncapped = instruments_.Get("BTC-USDT").value();
  uncapped.max_market_size.reset();
  uncapped.max_limit_size.reset();
  InstrumentCatalog uncapped_catalog({uncapped});
  auto nothing_stored = [&] {
    ASSERT_TRUE(store_->Read([&](Tx& tx) -> absl::Status {
      auto orders = tx.orders().List({.strategy_id = "hostile"}, {});
      if (!orders.ok()) return orders.status();
      EXPECT_TRUE(orders->empty());
      auto positions = tx.positions().List({.strategy_id = "hostile"}, {});
      if (!positions.ok()) return positions.status();
      EXPECT_TRUE(positions->empty());
      auto account = tx.accounts().Get("hostile");
      if (!account.ok()) return account.status();
      EXPECT_EQ((*account)->balance, D("100000"));
      EXPECT_EQ((*account)->margin_used, D("0"));
      return absl::OkStatus();
    }).ok());
  };
  for (InstrumentCatalog* catalog : {&instruments_, &uncapped_catalog}) {
    auto ex = PaperExchange::Open(
        {.strategy_id = "hostile", .starting_balance = D("100000"), .leverage = D("100")},
        {.store = store_.get(), .prices = &prices_, .instruments = catalog, .clock = &clock_});
    ASSERT_TRUE(ex.ok()) << ex.status();
    const bool capped = catalog == &instruments_;
    OrderRequest hostile = Market(Side::kBuy, "922337203");
    hostile.strategy_id = "hostile";
    auto refused = (*ex)->PlaceOrder(hostile);
    ASSERT_FALSE(refused.ok());
    if (capped) {
      EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(refused.status().message(),
                  HasSubstr("above BTC-USDT's maximum market order size of 1000000"));
    } else {
      // 922337203 x 64000.5 x 0.001 = 59030042160.6015 USDT of notional
      // (it saturated at 9223372036.854775807 with int64 units): margin at
      // 100x 590300421.606015, taker fee 35418025.2963609.
      EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
      EXPECT_THAT(refused.status().message(),
                  HasSubstr("insufficient margin: the order needs 625718446.9023759 USDT "
                            "(initial margin 590300421.606015 at 100x leverage + fee "
                            "35418025.2963609), available 100000 USDT"));
    }
    OrderRequest limit = Limit(Side::kBuy, "64000", "922337203");
    limit.strategy_id = "hostile";
    auto limit_refused = (*ex)->PlaceOrder(limit);
    ASSERT_FALSE(limit_refused.ok());
    EXPECT_EQ(limit_refused.status().code(), capped ? absl::StatusCode::kInvalidArgument
                                                    : absl::StatusCode::kFailedPrecondition);
    nothing_stored();
  }
}

TEST_P(PaperExchangeTest, AnOrderWhoseNumbersCannotBeCountedIsRefusedBeforeAnythingIsStored) {
  Instrument uncapped = instruments_.Get("BTC-USDT").value();
  uncapped.max_market_size.reset();
  uncapped.max_limit_size.reset();
  InstrumentCatalog catalog({uncapped});
  Reopen();
  auto ex = PaperExchange::Open(
      {.strategy_id = "s1", .leverage = D("100")},
      {.store = store_.get(), .prices = &prices_, .instruments = &catalog, .clock = &clock_});
  ASSERT_TRUE(ex.ok()) << ex.status();
  // A limit order: its notional is checked with the order.
  auto limit = (*ex)->PlaceOrder(
      Limit(Side::kBuy, "10000000000000000000000000000", "10000000000000"));
  EXPECT_EQ(limit.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(limit.status().message(), HasSubstr("the order's notional"));
  // A market order: at its fill price.
  prices_.Set("BTC-USDT", "10000000000000000000000000000", "10000000000000000000000000000",
              "10000000000000000000000000000");
  auto market = (*ex)->PlaceOrder(Market(Side::kBuy, "10000000000000"));
  EXPECT_EQ(market.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(market.status().message(), HasSubstr("the order's notional (price "
                                                   "10000000000000000000000000000 x quantity "
                                                   "10000000000000"));
  // A reduce-only market order skips the margin check, not the notional.
  OrderRequest reduce = Market(Side::kSell, "10000000000000");
  reduce.reduce_only = true;
  EXPECT_EQ((*ex)->PlaceOrder(reduce).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(StoredOrders().empty());
  EXPECT_TRUE(StoredPositions(std::nullopt).empty());
  EXPECT_EQ((*ex)->Balance()->balance, D("10000"));
}

TEST_P(PaperExchangeTest, MaximumOrderSizesAndSuspensionApplyToPaperToo) {
  auto too_big = exchange_->PlaceOrder(Market(Side::kBuy, "1000000.1"));
  EXPECT_EQ(too_big.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(too_big.status().message(), HasSubstr("maxMarketSize"));
  auto limit_too_big = exchange_->PlaceOrder(Limit(Side::kBuy, "1", "100000000.1"));
  EXPECT_THAT(limit_too_big.status().message(), HasSubstr("maxLimitSize"));
  Instrument suspended = instruments_.Get("BTC-USDT").value();
  suspended.live = false;
  instruments_.Put(suspended);
  auto refused = exchange_->PlaceOrder(Market(Side::kBuy, "1"));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("BTC-USDT is suspended on BloFin"));
  EXPECT_TRUE(StoredOrders().empty());
}

TEST_P(PaperExchangeTest, OpeningForAStrategyThatIsNotStoredFails) {
  auto ex = PaperExchange::Open(
      {.strategy_id = "ghost"},
      {.store = store_.get(), .prices = &prices_, .instruments = &instruments_, .clock = &clock_});
  EXPECT_EQ(ex.status().code(), absl::StatusCode::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(Backends, PaperExchangeTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace xctl
