// BlofinExchange against the local BloFin-compatible server
// (tests/fake_blofin), which checks every signature, keeps a real account
// (margin, netting, fees) and injects faults; the store is a real SQLite file
// or PostgreSQL database. Numbers: BTC-USDT bid 64000 / ask 64000.5,
// contract value 0.001, taker 0.06%, maker 0.02%.
#include "server/exchange/blofin/blofin_exchange.h"

#include <memory>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/fake_blofin.h"
#include "tests/support/test_databases.h"

namespace xctl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::xctl::testing::FakeBlofin;
using ::xctl::testing::TestDatabase;

Decimal D(absl::string_view s) { return Decimal::Parse(s).value(); }

class BlofinExchangeTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() { fake_ = new FakeBlofin(); }
  static void TearDownTestSuite() {
    delete fake_;
    fake_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(fake_->ok());
    ASSERT_TRUE(fake_->Control("reset", "{}"));
    ASSERT_TRUE(fake_->AddAccount("k1", "s3cr3t-value", "pass-phrase"));
    db_ = std::make_unique<TestDatabase>(GetParam());
    XCTL_REQUIRE_DATABASE(*db_);
    store_ = Store::Open({.url = db_->url()}).value();
    StrategyRecord s{.id = "live1", .name = "Live", .type = "aibot", .pairs = {"BTC-USDT"},
                     .starting_balance = D("10000")};
    ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.strategies().Insert(s); }).ok());
    exchange_ = Make(Config());
  }

  BlofinExchangeConfig Config() {
    BlofinExchangeConfig c;
    c.strategy_id = "live1";
    c.credentials = {Secret("k1"), Secret("s3cr3t-value"), Secret("pass-phrase")};
    c.rest.base_url = fake_->base_url();
    c.rest.timeout_ms = 700;
    c.leverage = D("3");
    c.starting_balance = D("10000");
    c.order_sync_interval = absl::ZeroDuration();
    return c;
  }
  std::unique_ptr<BlofinExchange> Make(BlofinExchangeConfig c) {
    auto ex = BlofinExchange::Open(std::move(c), {.store = store_.get(),
                                                  .instruments = &instruments_,
                                                  .clock = &clock_});
    EXPECT_TRUE(ex.ok()) << ex.status();
    return ex.ok() ? *std::move(ex) : nullptr;
  }

  OrderRequest Market(Side side, absl::string_view qty, std::string coid = "") {
    return OrderRequest{.strategy_id = "live1", .client_order_id = std::move(coid),
                        .symbol = "BTC-USDT", .side = side, .type = OrderType::kMarket,
                        .quantity = D(qty)};
  }
  OrderRequest Limit(Side side, absl::string_view price, absl::string_view qty) {
    OrderRequest r = Market(side, qty);
    r.type = OrderType::kLimit;
    r.price = D(price);
    return r;
  }
  int StoredOrderCount() {
    int n = -1;
    EXPECT_TRUE(store_->Read([&](Tx& tx) -> absl::Status {
      auto list = tx.orders().List({.strategy_id = "live1"}, {});
      if (list.ok()) n = static_cast<int>(list->size());
      return list.status();
    }).ok());
    return n;
  }
  void ExpectNoSecrets(const absl::Status& s) {
    EXPECT_THAT(std::string(s.message()), Not(HasSubstr("s3cr3t-value")));
    EXPECT_THAT(std::string(s.message()), Not(HasSubstr("pass-phrase")));
  }

  static FakeBlofin* fake_;
  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<Store> store_;
  InstrumentCatalog instruments_{DefaultInstruments()};
  const Clock& clock_ = SystemClock();
  std::unique_ptr<BlofinExchange> exchange_;
};

FakeBlofin* BlofinExchangeTest::fake_ = nullptr;

TEST_P(BlofinExchangeTest, MarketOrderIsSignedFilledAndMirroredInTheStore) {
  OrderResult r = exchange_->PlaceOrder(Market(Side::kBuy, "1")).value();
  EXPECT_FALSE(r.replayed);
  EXPECT_EQ(r.order.status, OrderStatus::kFilled);
  EXPECT_EQ(r.order.mode, TradingMode::kLive);
  EXPECT_FALSE(r.order.exchange_order_id.empty());
  EXPECT_EQ(r.order.average_price, D("64000.5"));
  EXPECT_EQ(r.order.fee, D("0.0384003"));
  ASSERT_EQ(r.fills.size(), 1u);
  EXPECT_FALSE(r.fills[0].exchange_fill_id.empty());
  ASSERT_EQ(r.open_positions.size(), 1u);
  EXPECT_EQ(r.open_positions[0].exchange, "blofin");
  EXPECT_EQ(r.open_positions[0].mode, TradingMode::kLive);
  EXPECT_EQ(r.open_positions[0].quantity, D("1"));
  EXPECT_EQ(fake_->OrderCount("k1"), 1);
  EXPECT_EQ(fake_->AuthFailures("152409"), 0);
  // Leverage is set once per instrument, before its first order.
  ASSERT_TRUE(exchange_->PlaceOrder(Market(Side::kBuy, "1")).ok());
  EXPECT_EQ(fake_->Requests("POST /api/v1/account/set-leverage"), 1);
  std::vector<Position> positions = exchange_->Positions().value();
  ASSERT_EQ(positions.size(), 1u);
  EXPECT_EQ(positions[0].quantity, D("2"));
  EXPECT_NE(positions[0].id, 0);  // matched to xctl's row
}

TEST_P(BlofinExchangeTest, WrongCredentialsAreRefusedWithBlofinsReasonAndNoSecret) {
  BlofinExchangeConfig bad_secret = Config();
  bad_secret.credentials.api_secret = Secret("wrong");
  auto refused = Make(bad_secret)->PlaceOrder(Market(Side::kBuy, "1"));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("152409"));
  EXPECT_THAT(refused.status().message(), HasSubstr("API key, secret and passphrase"));
  ExpectNoSecrets(refused.status());
  EXPECT_EQ(fake_->AuthFailures("152409"), 1);

  BlofinExchangeConfig bad_pass = Config();
  bad_pass.credentials.passphrase = Secret("nope");
  EXPECT_THAT(Make(bad_pass)->Balance().status().message(), HasSubstr("152403"));
  EXPECT_EQ(StoredOrderCount(), 0);
  EXPECT_EQ(fake_->OrderCount("k1"), 0);
}

TEST_P(BlofinExchangeTest, BlofinRejectionsStoreNothing) {
  ASSERT_TRUE(fake_->AddAccount("k1", "s3cr3t-value", "pass-phrase", "10"));
  auto margin = exchange_->PlaceOrder(Market(Side::kBuy, "10"));
  EXPECT_EQ(margin.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(margin.status().message(), HasSubstr("BloFin 103003: Insufficient margin"));
  EXPECT_EQ(StoredOrderCount(), 0);
  // Checked here before BloFin sees it, with the same message as paper.
  auto lot = exchange_->PlaceOrder(Market(Side::kBuy, "0.15"));
  EXPECT_EQ(lot.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(lot.status().message(), HasSubstr("lot size 0.1 (try 0.1 or 0.2)"));
  EXPECT_EQ(fake_->Requests("POST /api/v1/trade/order"), 1);
}

TEST_P(BlofinExchangeTest, LimitOrderRestsAndIsSyncedWhenItFills) {
  OrderResult placed = exchange_->PlaceOrder(Limit(Side::kBuy, "63990", "1")).value();
  EXPECT_EQ(placed.order.status, OrderStatus::kOpen);
  EXPECT_TRUE(placed.fills.empty());
  std::vector<Order> open = exchange_->OpenOrders().value();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].id, placed.order.id);

  Tick tick{.pair = "BTC-USDT", .bid = D("63985"), .ask = D("63986"), .last = D("63985")};
  EXPECT_TRUE(exchange_->OnTick(tick).empty());  // not filled on BloFin yet
  ASSERT_TRUE(fake_->SetTickers(R"({"BTC-USDT":{"bid":"63985","ask":"63986","last":"63985"}})"));
  std::vector<OrderResult> synced = exchange_->OnTick(tick);
  ASSERT_EQ(synced.size(), 1u);
  EXPECT_EQ(synced[0].order.id, placed.order.id);
  EXPECT_EQ(synced[0].order.status, OrderStatus::kFilled);
  ASSERT_EQ(synced[0].fills.size(), 1u);
  EXPECT_EQ(synced[0].fills[0].price, D("63990"));
  EXPECT_EQ(synced[0].fills[0].fee, D("0.012798"));
  EXPECT_TRUE(exchange_->OnTick(tick).empty());
  EXPECT_TRUE(exchange_->OpenOrders()->empty());
}

TEST_P(BlofinExchangeTest, CancelRestingOrder) {
  OrderResult placed = exchange_->PlaceOrder(Limit(Side::kSell, "65000", "1")).value();
  Order cancelled = exchange_->CancelOrder({.order_id = placed.order.id}).value();
  EXPECT_EQ(cancelled.status, OrderStatus::kCanceled);
  auto again = exchange_->CancelOrder({.order_id = placed.order.id});
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(again.status().message(), HasSubstr("already canceled"));
  EXPECT_EQ(exchange_->CancelOrder({.client_order_id = "unknown"}).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(BlofinExchangeTest, CancellingAnOrderThatFilledMeanwhileSaysSoAndRecordsTheFill) {
  OrderResult placed = exchange_->PlaceOrder(Limit(Side::kBuy, "63990", "1")).value();
  ASSERT_TRUE(fake_->SetTickers(R"({"BTC-USDT":{"bid":"63980","ask":"63985","last":"63980"}})"));
  auto cancel = exchange_->CancelOrder({.order_id = placed.order.id});
  EXPECT_EQ(cancel.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(cancel.status().message(), HasSubstr("already filled"));
  ASSERT_EQ(exchange_->Positions()->size(), 1u);
}

TEST_P(BlofinExchangeTest, TimeoutThenRetryWithTheSameClientOrderIdPlacesExactlyOneOrder) {
  ASSERT_TRUE(fake_->Fault("/api/v1/trade/order", "timeout", 1, "\"delay_ms\":1500"));
  auto first = exchange_->PlaceOrder(Market(Side::kBuy, "1", "retry1"));
  EXPECT_EQ(first.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(first.status().message(), HasSubstr("same client order id is safe"));
  absl::SleepFor(absl::Milliseconds(1200));  // the slow request lands on BloFin
  OrderResult retry = exchange_->PlaceOrder(Market(Side::kBuy, "1", "retry1")).value();
  EXPECT_EQ(retry.order.status, OrderStatus::kFilled);
  EXPECT_EQ(retry.order.client_order_id, "retry1");
  EXPECT_EQ(fake_->OrderCount("k1"), 1);
  EXPECT_EQ(StoredOrderCount(), 1);
  // A third call is answered from the store.
  EXPECT_TRUE(exchange_->PlaceOrder(Market(Side::kBuy, "1", "retry1"))->replayed);
  EXPECT_EQ(fake_->OrderCount("k1"), 1);
}

TEST_P(BlofinExchangeTest, ServerErrorIsUnavailableAndTheRetryWorks) {
  ASSERT_TRUE(fake_->Fault("/api/v1/trade/order", "http_500"));
  auto first = exchange_->PlaceOrder(Market(Side::kBuy, "1", "r500"));
  EXPECT_EQ(first.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(StoredOrderCount(), 0);
  EXPECT_TRUE(exchange_->PlaceOrder(Market(Side::kBuy, "1", "r500")).ok());
  EXPECT_EQ(fake_->OrderCount("k1"), 1);
}

TEST_P(BlofinExchangeTest, ClientOrderIdReuseForAnotherOrderIsRefused) {
  ASSERT_TRUE(exchange_->PlaceOrder(Market(Side::kBuy, "1", "same")).ok());
  auto other = exchange_->PlaceOrder(Market(Side::kSell, "1", "same"));
  EXPECT_EQ(other.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(other.status().message(), HasSubstr("already used for a different order"));
  EXPECT_EQ(fake_->OrderCount("k1"), 1);
}

TEST_P(BlofinExchangeTest, ClientSideRateLimitKeepsUnderBlofinsLimit) {
  BlofinExchangeConfig c = Config();
  c.rest.trade_requests_per_window = 3;
  c.rest.max_rate_wait = absl::ZeroDuration();
  auto limited = Make(c);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(limited->PlaceOrder(Market(Side::kBuy, "0.1")).ok());
  auto fourth = limited->PlaceOrder(Market(Side::kBuy, "0.1"));
  EXPECT_EQ(fourth.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(fourth.status().message(), HasSubstr("3 order requests per 10s"));
  EXPECT_EQ(fake_->StatsNumber("rate_limited"), 0);
  EXPECT_EQ(fake_->OrderCount("k1"), 3);
}

TEST_P(BlofinExchangeTest, After429NothingIsSentUntilRetryAfter) {
  ASSERT_TRUE(fake_->Fault("/api/v1/trade/order", "http_429", 1, "\"retry_after\":1"));
  auto r = exchange_->PlaceOrder(Market(Side::kBuy, "1"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(r.status().message(), HasSubstr("retry after 1 s"));
  const int sent = fake_->Requests("POST /api/v1/trade/order");
  auto during = exchange_->PlaceOrder(Market(Side::kBuy, "1"));
  EXPECT_EQ(during.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(during.status().message(), HasSubstr("back off"));
  EXPECT_EQ(fake_->Requests("POST /api/v1/trade/order"), sent);
  absl::SleepFor(absl::Milliseconds(1100));
  EXPECT_TRUE(exchange_->PlaceOrder(Market(Side::kBuy, "1")).ok());
}

TEST_P(BlofinExchangeTest, A403BanPausesEveryRequest) {
  BlofinExchangeConfig c = Config();
  c.rest.ban_backoff = absl::Milliseconds(500);
  auto banned = Make(c);
  ASSERT_TRUE(fake_->Fault("/api/v1/account/balance", "http_403"));
  auto r = banned->Balance();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(r.status().message(), HasSubstr("HTTP 403"));
  EXPECT_EQ(banned->PlaceOrder(Market(Side::kBuy, "1")).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(fake_->Requests("POST /api/v1/trade/order"), 0);
  absl::SleepFor(absl::Milliseconds(600));
  EXPECT_TRUE(banned->Balance().ok());
}

TEST_P(BlofinExchangeTest, ASkewedClockIsReportedAsSuch) {
  FakeClock last_year(absl::Now() - absl::Hours(24 * 365));
  auto skewed = BlofinExchange::Open(Config(), {store_.get(), &instruments_, &last_year});
  ASSERT_TRUE(skewed.ok());
  auto r = (*skewed)->Balance();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("152405"));
  EXPECT_THAT(r.status().message(), HasSubstr("clock"));
}

TEST_P(BlofinExchangeTest, PerOrderErrorCodesKeepBlofinsCodeAndText) {
  ASSERT_TRUE(fake_->Fault("/api/v1/trade/order", "code", 1,
                           "\"code\":\"102036\",\"msg\":\"Reduce-only order would increase position\""));
  auto r = exchange_->PlaceOrder(Market(Side::kBuy, "1"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("BloFin 102036: Reduce-only"));
  EXPECT_EQ(blofin::BlofinCode(r.status()), "102036");
  EXPECT_EQ(StoredOrderCount(), 0);
}

TEST_P(BlofinExchangeTest, MalformedAnswersAreUnavailable) {
  ASSERT_TRUE(fake_->Fault("/api/v1/account/positions", "malformed"));
  auto r = exchange_->Positions();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("not JSON"));
  ASSERT_TRUE(fake_->Fault("/api/v1/account/balance", "partial"));
  EXPECT_EQ(exchange_->Balance().status().code(), absl::StatusCode::kUnavailable);
}

TEST_P(BlofinExchangeTest, PartialAndFullCloseUseReduceOnlyOrders) {
  ASSERT_TRUE(exchange_->PlaceOrder(Market(Side::kBuy, "1")).ok());
  OrderResult part =
      exchange_->ClosePosition({.symbol = "BTC-USDT", .quantity = D("0.4")}).value();
  EXPECT_TRUE(part.order.reduce_only);
  ASSERT_EQ(part.closed_positions.size(), 1u);
  EXPECT_EQ(part.closed_positions[0].quantity, D("0.4"));
  EXPECT_EQ(part.closed_positions[0].close_price, D("64000"));
  EXPECT_EQ(exchange_->Positions().value()[0].quantity, D("0.6"));
  auto too_much = exchange_->ClosePosition({.symbol = "BTC-USDT", .quantity = D("1")});
  EXPECT_EQ(too_much.status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(exchange_->ClosePosition({.symbol = "BTC-USDT"}).ok());
  EXPECT_TRUE(exchange_->Positions()->empty());
  EXPECT_EQ(exchange_->ClosePosition({.symbol = "BTC-USDT"}).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_P(BlofinExchangeTest, BalanceIsReadFromBlofinAndKept) {
  ASSERT_TRUE(exchange_->PlaceOrder(Market(Side::kBuy, "1")).ok());
  Account a = exchange_->Balance().value();
  EXPECT_EQ(a.balance, D("9999.9615997"));
  EXPECT_EQ(a.margin_used, D("21.3335"));  // 64.0005 / 3
  EXPECT_EQ(a.starting_balance, D("10000"));
  std::optional<Account> stored;
  ASSERT_TRUE(store_->Read([&](Tx& tx) -> absl::Status {
    auto got = tx.accounts().Get("live1");
    if (got.ok()) stored = *got;
    return got.status();
  }).ok());
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->balance, D("9999.9615997"));
}

TEST_P(BlofinExchangeTest, BadConfigurationIsRefusedAtOpen) {
  BlofinExchangeConfig c = Config();
  c.credentials.passphrase = Secret("");
  EXPECT_EQ(BlofinExchange::Open(c, {store_.get(), &instruments_, &clock_}).status().code(),
            absl::StatusCode::kInvalidArgument);
  c = Config();
  c.leverage = D("2.5");
  EXPECT_EQ(BlofinExchange::Open(c, {store_.get(), &instruments_, &clock_}).status().code(),
            absl::StatusCode::kInvalidArgument);
  c = Config();
  c.strategy_id = "ghost";
  EXPECT_EQ(BlofinExchange::Open(c, {store_.get(), &instruments_, &clock_}).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(BlofinExchangeTest, ReconcileAdoptsWhatTheStoreLacksAndClosesWhatBlofinLacks) {
  ASSERT_TRUE(exchange_->PlaceOrder(Market(Side::kBuy, "1")).ok());
  OrderResult resting = exchange_->PlaceOrder(Limit(Side::kBuy, "60000", "1")).value();
  EXPECT_EQ(exchange_->Reconcile()->changes.size(), 0u);  // already in agreement

  // A second strategy on the same BloFin account knows nothing yet.
  StrategyRecord s{.id = "live2", .name = "Live 2", .type = "aibot", .pairs = {"BTC-USDT"}};
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.strategies().Insert(s); }).ok());
  BlofinExchangeConfig c = Config();
  c.strategy_id = "live2";
  auto other = Make(c);
  ReconcileReport adopted = other->Reconcile().value();
  EXPECT_EQ(adopted.orders_adopted, 1);
  EXPECT_EQ(adopted.positions_adopted, 1);
  ASSERT_EQ(other->Positions()->size(), 1u);
  EXPECT_NE(other->Positions().value()[0].id, 0);  // now a stored row

  // Closed and cancelled elsewhere: the first strategy's store follows BloFin.
  ASSERT_TRUE(other->ClosePosition({.symbol = "BTC-USDT"}).ok());
  ASSERT_TRUE(other->CancelOrder({.client_order_id = resting.order.client_order_id}).ok());
  ReconcileReport closed = exchange_->Reconcile().value();
  EXPECT_EQ(closed.positions_closed, 1);
  EXPECT_EQ(closed.orders_closed, 1);
  EXPECT_EQ(closed.changes.size(), 2u);
  std::vector<Position> open;
  ASSERT_TRUE(store_->Read([&](Tx& tx) -> absl::Status {
    auto rows = tx.positions().ListOpen("live1");
    if (rows.ok()) open = *rows;
    return rows.status();
  }).ok());
  EXPECT_TRUE(open.empty());
  EXPECT_TRUE(exchange_->OpenOrders()->empty());
}

TEST_P(BlofinExchangeTest, InstrumentsComeFromBlofinsInstrumentsEndpoint) {
  HttpClient http({});
  std::vector<Instrument> listed = blofin::FetchInstruments(http, fake_->base_url()).value();
  ASSERT_EQ(listed.size(), 3u);
  InstrumentCatalog catalog(listed);
  Instrument eth = catalog.Get("ETH-USDT").value();
  EXPECT_EQ(eth.contract_value, D("0.01"));
  EXPECT_EQ(eth.tick_size, D("0.01"));
  EXPECT_EQ(eth.max_leverage, D("150"));
  ASSERT_TRUE(fake_->Fault("/api/v1/market/instruments", "malformed"));
  EXPECT_EQ(blofin::FetchInstruments(http, fake_->base_url()).status().code(),
            absl::StatusCode::kUnavailable);
}

INSTANTIATE_TEST_SUITE_P(Backends, BlofinExchangeTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace xctl
