// The shared conformance suite: the same trading scenarios run against the
// PaperExchange and the BlofinExchange (on the local BloFin-compatible
// server), so paper trading stays faithful to live. Both see the same market
// (the fixed price table for paper, the fake's tickers for BloFin) and the
// same fee rates (BloFin's standard 0.06% taker / 0.02% maker).
#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/exchange/blofin/blofin_exchange.h"
#include "server/exchange/paper/paper_exchange.h"
#include "tests/support/fake_blofin.h"
#include "tests/support/fixed_prices.h"
#include "tests/support/test_databases.h"

namespace xctl {
namespace {

using ::testing::HasSubstr;
using ::xctl::testing::FakeBlofin;
using ::xctl::testing::FixedPrices;
using ::xctl::testing::TestDatabase;

Decimal D(absl::string_view s) { return Decimal::Parse(s).value(); }

// Owns the store, the market and the fake server; makes either exchange.
class Venue {
 public:
  Venue() : db_("sqlite") {
    store_ = Store::Open({.url = db_.url()}).value();
    EXPECT_TRUE(fake_.ok());
    EXPECT_TRUE(fake_.AddAccount("key", "secret", "pass"));
    SetMarket("64000", "64000.5", "64000.2");
  }

  void AddStrategy(const std::string& id) {
    StrategyRecord s{.id = id, .name = id, .type = "aibot", .pairs = {"BTC-USDT"},
                     .starting_balance = D("10000")};
    ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.strategies().Insert(s); }).ok());
  }

  std::unique_ptr<Exchange> Make(const std::string& kind, const std::string& id) {
    AddStrategy(id);
    if (kind == "paper") {
      return PaperExchange::Open({.strategy_id = id, .leverage = D("3")},
                                 {store_.get(), &prices_, &instruments_, &SystemClock()})
          .value();
    }
    BlofinExchangeConfig c{.strategy_id = id,
                           .credentials = {Secret("key"), Secret("secret"), Secret("pass")},
                           .leverage = D("3"),
                           .order_sync_interval = absl::ZeroDuration()};
    c.rest.base_url = fake_.base_url();
    return BlofinExchange::Open(c, {store_.get(), &instruments_, &SystemClock()}).value();
  }

  // The new market, on both venues; returns the tick for OnTick.
  Tick SetMarket(absl::string_view bid, absl::string_view ask, absl::string_view last) {
    EXPECT_TRUE(fake_.SetTickers(absl::StrCat(R"({"BTC-USDT":{"bid":")", bid, R"(","ask":")",
                                              ask, R"(","last":")", last, R"("}})")));
    return *prices_.Set("BTC-USDT", bid, ask, last);
  }

  Store& store() { return *store_; }

 private:
  TestDatabase db_;
  std::unique_ptr<Store> store_;
  FakeBlofin fake_;
  FixedPrices prices_;
  InstrumentCatalog instruments_{DefaultInstruments()};
};

class ConformanceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { exchange_ = venue_.Make(GetParam(), "s1"); }

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

  Venue venue_;
  std::unique_ptr<Exchange> exchange_;
};

TEST_P(ConformanceTest, MarketOrdersFillAtTheBookWithTheTakerFee) {
  OrderResult buy = exchange_->PlaceOrder(Market(Side::kBuy, "1")).value();
  EXPECT_EQ(buy.order.status, OrderStatus::kFilled);
  EXPECT_EQ(buy.order.average_price, D("64000.5"));
  EXPECT_EQ(buy.order.fee, D("0.0384003"));
  ASSERT_EQ(buy.open_positions.size(), 1u);
  EXPECT_EQ(buy.open_positions[0].side, PositionSide::kLong);
  OrderResult sell = exchange_->PlaceOrder(Market(Side::kSell, "1")).value();
  EXPECT_EQ(sell.order.average_price, D("64000"));
  ASSERT_EQ(sell.closed_positions.size(), 1u);
  // (64000 - 64000.5) x 0.001 - 0.0384003 - 0.0384
  EXPECT_EQ(sell.closed_positions[0].pnl, D("-0.0773003"));
  EXPECT_TRUE(exchange_->Positions()->empty());
}

TEST_P(ConformanceTest, OffLotOrdersAreRefusedWithTheSameMessage) {
  auto r = exchange_->PlaceOrder(Market(Side::kBuy, "0.15"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "quantity 0.15 is not a multiple of BTC-USDT's lot size 0.1 (try 0.1 or 0.2)");
}

TEST_P(ConformanceTest, PartialCloseSplitsAndAFlipOpensTheOtherSide) {
  ASSERT_TRUE(exchange_->PlaceOrder(Market(Side::kBuy, "1")).ok());
  OrderResult part =
      exchange_->ClosePosition({.symbol = "BTC-USDT", .quantity = D("0.4")}).value();
  ASSERT_EQ(part.closed_positions.size(), 1u);
  EXPECT_EQ(part.closed_positions[0].quantity, D("0.4"));
  ASSERT_EQ(part.open_positions.size(), 1u);
  EXPECT_EQ(part.open_positions[0].quantity, D("0.6"));
  OrderResult flip = exchange_->PlaceOrder(Market(Side::kSell, "2")).value();
  ASSERT_EQ(flip.closed_positions.size(), 1u);
  ASSERT_EQ(flip.open_positions.size(), 1u);
  EXPECT_EQ(flip.open_positions[0].side, PositionSide::kShort);
  EXPECT_EQ(flip.open_positions[0].quantity, D("1.4"));
  std::vector<Position> positions = exchange_->Positions().value();
  ASSERT_EQ(positions.size(), 1u);
  EXPECT_EQ(positions[0].side, PositionSide::kShort);
  EXPECT_EQ(positions[0].quantity, D("1.4"));
}

TEST_P(ConformanceTest, LimitOrdersRestThenFillAtTheirPriceWithTheMakerFee) {
  OrderResult placed = exchange_->PlaceOrder(Limit(Side::kBuy, "63990", "1")).value();
  EXPECT_EQ(placed.order.status, OrderStatus::kOpen);
  ASSERT_EQ(exchange_->OpenOrders()->size(), 1u);
  std::vector<OrderResult> none = exchange_->OnTick(venue_.SetMarket("63995", "63996", "63995"));
  EXPECT_TRUE(none.empty());
  std::vector<OrderResult> filled =
      exchange_->OnTick(venue_.SetMarket("63985", "63986", "63985"));
  ASSERT_EQ(filled.size(), 1u);
  EXPECT_EQ(filled[0].order.status, OrderStatus::kFilled);
  ASSERT_EQ(filled[0].fills.size(), 1u);
  EXPECT_EQ(filled[0].fills[0].price, D("63990"));
  EXPECT_EQ(filled[0].fills[0].fee, D("0.012798"));
  EXPECT_TRUE(exchange_->OpenOrders()->empty());
}

TEST_P(ConformanceTest, CancelThenCancelAgain) {
  OrderResult placed = exchange_->PlaceOrder(Limit(Side::kSell, "65000", "1")).value();
  EXPECT_EQ(exchange_->CancelOrder({.order_id = placed.order.id})->status,
            OrderStatus::kCanceled);
  auto again = exchange_->CancelOrder({.order_id = placed.order.id});
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(again.status().message(), HasSubstr("already canceled"));
  EXPECT_EQ(exchange_->CancelOrder({.client_order_id = "never"}).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(ConformanceTest, ARetryWithTheSameClientOrderIdTradesOnce) {
  OrderResult first = exchange_->PlaceOrder(Market(Side::kBuy, "1", "once")).value();
  OrderResult retry = exchange_->PlaceOrder(Market(Side::kBuy, "1", "once")).value();
  EXPECT_TRUE(retry.replayed);
  EXPECT_EQ(retry.order.id, first.order.id);
  EXPECT_EQ(exchange_->Positions().value()[0].quantity, D("1"));
  EXPECT_EQ(exchange_->PlaceOrder(Market(Side::kSell, "1", "once")).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_P(ConformanceTest, ClosingWithoutAPositionIsRefused) {
  EXPECT_EQ(exchange_->ClosePosition({.symbol = "BTC-USDT"}).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

INSTANTIATE_TEST_SUITE_P(Exchanges, ConformanceTest, ::testing::Values("paper", "blofin"),
                         [](const auto& info) { return info.param; });

// A live strategy (credentials, on the fake BloFin) and a paper strategy
// trade side by side and record their positions in the same tables.
TEST(SideBySide, LiveAndPaperStrategiesShareTheTables) {
  Venue venue;
  auto live = venue.Make("blofin", "live");
  auto paper = venue.Make("paper", "paper");
  for (auto* ex : {live.get(), paper.get()}) {
    OrderRequest buy{.strategy_id = ex->strategy_id(), .symbol = "BTC-USDT",
                     .side = Side::kBuy, .quantity = D("1")};
    ASSERT_TRUE(ex->PlaceOrder(buy).ok()) << ex->name();
  }
  std::vector<Position> rows;
  ASSERT_TRUE(venue.store().Read([&](Tx& tx) -> absl::Status {
    auto open = tx.positions().ListOpenAll();
    if (open.ok()) rows = *open;
    return open.status();
  }).ok());
  ASSERT_EQ(rows.size(), 2u);
  std::sort(rows.begin(), rows.end(),
            [](const Position& a, const Position& b) { return a.strategy_id < b.strategy_id; });
  EXPECT_EQ(rows[0].strategy_id, "live");
  EXPECT_EQ(rows[0].mode, TradingMode::kLive);
  EXPECT_EQ(rows[0].exchange, "blofin");
  EXPECT_EQ(rows[1].strategy_id, "paper");
  EXPECT_EQ(rows[1].mode, TradingMode::kPaper);
  EXPECT_EQ(rows[1].exchange, "paper");
  EXPECT_EQ(rows[0].open_price, rows[1].open_price);
  EXPECT_EQ(rows[0].fees, rows[1].fees);
}

}  // namespace
}  // namespace xctl
