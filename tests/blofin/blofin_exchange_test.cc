// BlofinExchange against the local BloFin server built from BloFin's
// documentation (tests/fake_blofin: ../shared/blofin/index.md, errors.md),
// which checks every signature, keeps a real account (margin, netting, fees,
// partial fills at the touch size) and injects faults; the store is a real
// SQLite file or PostgreSQL database. Numbers: BTC-USDT bid 64000 / ask
// 64000.5, contract value 0.001, taker 0.06%, maker 0.02%. Each test names
// the docs heading it holds the client to.
#include "server/exchange/blofin/blofin_exchange.h"

#include <memory>
#include <set>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
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
    AddStrategy("live1");
    exchange_ = Make(Config());
  }

  void AddStrategy(const std::string& id) {
    StrategyRecord s{.id = id, .name = id, .type = "aibot", .pairs = {"BTC-USDT"},
                     .starting_balance = D("10000")};
    ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.strategies().Insert(s); }).ok());
  }

  BlofinExchangeConfig Config(const std::string& id = "live1") {
    BlofinExchangeConfig c;
    c.strategy_id = id;
    c.credentials = {Secret("k1"), Secret("s3cr3t-value"), Secret("pass-phrase")};
    c.rest.base_url = fake_->base_url();
    c.rest.timeout_ms = 700;
    // The suite trades faster than BloFin's limits allow; one budget serves
    // every test of the process (tests of the limits use a clock of their own).
    c.rest.limits.per_minute = 100000;
    c.rest.limits.trade_per_window = 100000;
    c.leverage = D("3");
    c.order_sync_interval = absl::ZeroDuration();
    return c;
  }
  std::unique_ptr<BlofinExchange> Make(BlofinExchangeConfig c, const Clock* clock = nullptr) {
    auto ex = BlofinExchange::Open(std::move(c), {.store = store_.get(),
                                                  .instruments = &instruments_,
                                                  .clock = clock ? clock : &clock_});
    EXPECT_TRUE(ex.ok()) << ex.status();
    return ex.ok() ? *std::move(ex) : nullptr;
  }

  OrderRequest Market(Side side, absl::string_view qty, std::string coid = "") {
    return OrderRequest{.strategy_id = "live1", .client_order_id = std::move(coid),
                        .symbol = "BTC-USDT", .side = side, .type = OrderType::kMarket,
                        .quantity = D(qty)};
  }
  OrderRequest Limit(Side side, absl::string_view price, absl::string_view qty,
                     std::string coid = "") {
    OrderRequest r = Market(side, qty, std::move(coid));
    r.type = OrderType::kLimit;
    r.price = D(price);
    return r;
  }
  std::vector<Order> StoredOrders(const std::string& id = "live1") {
    std::vector<Order> out;
    EXPECT_TRUE(store_->Read([&](Tx& tx) -> absl::Status {
      auto list = tx.orders().List({.strategy_id = id}, {});
      if (list.ok()) out = *list;
      return list.status();
    }).ok());
    return out;
  }
  int StoredOrderCount() { return static_cast<int>(StoredOrders().size()); }
  std::vector<Fill> StoredFills(int64_t order_id) {
    std::vector<Fill> out;
    EXPECT_TRUE(store_->Read([&](Tx& tx) -> absl::Status {
      auto list = tx.fills().ListByOrder(order_id);
      if (list.ok()) out = *list;
      return list.status();
    }).ok());
    return out;
  }
  // The fake's account: its orders (all states) and fills.
  rapidjson::Document AccountState() {
    rapidjson::Document doc;
    doc.Parse(fake_->ControlGet("accounts/state?apiKey=k1").c_str());
    return doc;
  }
  // The requests the fake logged for `path`.
  rapidjson::Document Logged(const std::string& path) {
    rapidjson::Document doc;
    doc.Parse(fake_->ControlGet("requests?path=" + path).c_str());
    return doc;
  }
  void ExpectNoSecrets(const absl::Status& s) {
    EXPECT_THAT(std::string(s.message()), Not(HasSubstr("s3cr3t-value")));
    EXPECT_THAT(std::string(s.message()), Not(HasSubstr("pass-phrase")));
  }
  // A signed call of the documented API, as another program on the account.
  absl::StatusOr<rapidjson::Document> Direct(absl::string_view path, const std::string& body) {
    blofin::RestOptions o;
    o.base_url = fake_->base_url();
    blofin::RestClient rest(o, {Secret("k1"), Secret("s3cr3t-value"), Secret("pass-phrase")},
                            &clock_);
    return rest.Post(path, body, false);
  }

  static FakeBlofin* fake_;
  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<Store> store_;
  InstrumentCatalog instruments_{DefaultInstruments()};
  const Clock& clock_ = SystemClock();
  std::unique_ptr<BlofinExchange> exchange_;
};

FakeBlofin* BlofinExchangeTest::fake_ = nullptr;

// index.md "Place Order", "GET Order Detail", "GET Trade History".
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
  EXPECT_EQ(r.open_positions[0].quantity, D("1"));
  EXPECT_EQ(fake_->OrderCount("k1"), 1);
  // Read back by its id through order-detail, never through list filters.
  EXPECT_EQ(fake_->Requests("GET /api/v1/trade/order-detail"), 1);
  EXPECT_EQ(fake_->Requests("GET /api/v1/trade/orders-pending"), 0);
  EXPECT_EQ(fake_->Requests("GET /api/v1/trade/orders-history"), 0);
  // Leverage is set once per instrument, the account checked once.
  ASSERT_TRUE(exchange_->PlaceOrder(Market(Side::kBuy, "1")).ok());
  EXPECT_EQ(fake_->Requests("POST /api/v1/account/set-leverage"), 1);
  EXPECT_EQ(fake_->Requests("GET /api/v1/account/position-mode"), 1);
  std::vector<Position> positions = exchange_->Positions().value();
  ASSERT_EQ(positions.size(), 1u);
  EXPECT_EQ(positions[0].quantity, D("2"));
  EXPECT_NE(positions[0].id, 0);  // matched to xctl's row
}

// index.md "GET Active Orders" has no orderId / clientOrderId filter: a client
// that relied on one recorded the resting order instead of the market order.
TEST_P(BlofinExchangeTest, WithARestingLimitOrderPresentAMarketOrderIsRecordedAsItself) {
  OrderResult resting = exchange_->PlaceOrder(Limit(Side::kBuy, "60000", "2", "rest1")).value();
  ASSERT_EQ(resting.order.status, OrderStatus::kOpen);
  OrderResult market = exchange_->PlaceOrder(Market(Side::kSell, "0.5", "mkt1")).value();
  EXPECT_EQ(market.order.client_order_id, "mkt1");
  EXPECT_EQ(market.order.side, Side::kSell);
  EXPECT_EQ(market.order.type, OrderType::kMarket);
  EXPECT_EQ(market.order.quantity, D("0.5"));
  EXPECT_EQ(market.order.status, OrderStatus::kFilled);
  EXPECT_NE(market.order.exchange_order_id, resting.order.exchange_order_id);
  ASSERT_EQ(market.fills.size(), 1u);
  EXPECT_EQ(market.fills[0].price, D("64000"));
  std::vector<Order> stored = StoredOrders();
  ASSERT_EQ(stored.size(), 2u);
  for (const Order& o : stored) {
    if (o.client_order_id == "rest1") {
      EXPECT_EQ(o.status, OrderStatus::kOpen);
    }
    if (o.client_order_id == "mkt1") {
      EXPECT_EQ(o.status, OrderStatus::kFilled);
    }
  }
}

// errors.md 152409, 152408: HTTP 200 with the code.
TEST_P(BlofinExchangeTest, WrongCredentialsAreRefusedWithBlofinsReasonAndNoSecret) {
  exchange_.reset();  // one live exchange per key in a process
  BlofinExchangeConfig bad_secret = Config();
  bad_secret.credentials.api_secret = Secret("wrong");
  auto refused = Make(bad_secret)->PlaceOrder(Market(Side::kBuy, "1"));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("152409"));
  EXPECT_THAT(refused.status().message(), HasSubstr("API key, secret and passphrase"));
  ExpectNoSecrets(refused.status());

  BlofinExchangeConfig bad_pass = Config();
  bad_pass.credentials.passphrase = Secret("nope");
  EXPECT_THAT(Make(bad_pass)->Balance().status().message(), HasSubstr("152408"));
  EXPECT_EQ(StoredOrderCount(), 0);
  EXPECT_EQ(fake_->OrderCount("k1"), 0);
}

// A per-order refusal inside a "code":"0" envelope (ccxt's recorded shape)
// and inside errors.md's "code":"1" envelope: both refusals, nothing stored.
TEST_P(BlofinExchangeTest, ARejectionInsideEitherEnvelopeIsARefusalAndStoresNothing) {
  ASSERT_TRUE(fake_->AddAccount("k1", "s3cr3t-value", "pass-phrase", "10"));
  for (const char* envelope : {"success", "errors_md"}) {
    ASSERT_TRUE(fake_->Control("settings", absl::StrCat(R"({"envelope":")", envelope, R"("})")));
    auto margin = exchange_->PlaceOrder(Market(Side::kBuy, "10"));
    EXPECT_EQ(margin.status().code(), absl::StatusCode::kFailedPrecondition) << envelope;
    EXPECT_THAT(margin.status().message(), HasSubstr("BloFin 103003")) << envelope;
    EXPECT_EQ(blofin::BlofinCode(margin.status()), "103003");
    EXPECT_EQ(StoredOrderCount(), 0) << envelope;
  }
  // Checked here before BloFin sees it, with the same message as paper.
  auto lot = exchange_->PlaceOrder(Market(Side::kBuy, "0.15"));
  EXPECT_EQ(lot.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(lot.status().message(), HasSubstr("lot size 0.1 (try 0.1 or 0.2)"));
  EXPECT_EQ(fake_->Requests("POST /api/v1/trade/order"), 2);
  // A client order id BloFin would refuse (errors.md 152009) is refused here.
  EXPECT_EQ(exchange_->PlaceOrder(Market(Side::kBuy, "1", "not-alnum")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Partial fills at the touch size: "partially_filled" (index.md "GET Active
// Orders"), then "filled"; every fill recorded once.
TEST_P(BlofinExchangeTest, LimitOrderRestsAndIsSyncedAsItFillsInParts) {
  OrderResult placed = exchange_->PlaceOrder(Limit(Side::kBuy, "63990", "1")).value();
  EXPECT_EQ(placed.order.status, OrderStatus::kOpen);
  EXPECT_TRUE(placed.fills.empty());
  std::vector<Order> open = exchange_->OpenOrders().value();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].id, placed.order.id);

  Tick tick{.pair = "BTC-USDT", .bid = D("63985"), .ask = D("63986"), .last = D("63985")};
  EXPECT_TRUE(exchange_->OnTick(tick).empty());  // not filled on BloFin yet
  ASSERT_TRUE(fake_->SetTickers(
      R"({"BTC-USDT":{"bid":"63985","ask":"63986","last":"63985","askSize":"0.4"}})"));
  std::vector<OrderResult> part = exchange_->OnTick(tick);
  ASSERT_EQ(part.size(), 1u);
  EXPECT_EQ(part[0].order.status, OrderStatus::kPartiallyFilled);
  EXPECT_EQ(part[0].order.filled_quantity, D("0.4"));
  ASSERT_TRUE(fake_->SetTickers(
      R"({"BTC-USDT":{"bid":"63985","ask":"63986","last":"63985","askSize":"5"}})"));
  std::vector<OrderResult> rest = exchange_->OnTick(tick);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].order.status, OrderStatus::kFilled);
  EXPECT_EQ(rest[0].order.filled_quantity, D("1"));
  EXPECT_EQ(StoredFills(placed.order.id).size(), 2u);
  EXPECT_TRUE(exchange_->OnTick(tick).empty());
  EXPECT_TRUE(exchange_->OpenOrders()->empty());
  EXPECT_EQ(exchange_->Positions().value()[0].quantity, D("1"));
}

// index.md "Cancel Order" (orderId required; data one object); errors.md 102068.
TEST_P(BlofinExchangeTest, CancelRestingOrder) {
  OrderResult placed = exchange_->PlaceOrder(Limit(Side::kSell, "65000", "1")).value();
  Order cancelled = exchange_->CancelOrder({.order_id = placed.order.id}).value();
  EXPECT_EQ(cancelled.status, OrderStatus::kCanceled);
  rapidjson::Document log = Logged("/api/v1/trade/cancel-order");
  ASSERT_EQ(log["requests"].Size(), 1u);
  EXPECT_THAT(std::string(log["requests"][0]["body"].GetString()),
              HasSubstr(absl::StrCat("\"orderId\":\"", placed.order.exchange_order_id, "\"")));
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
  EXPECT_EQ(StoredFills(placed.order.id).size(), 1u);
  ASSERT_EQ(exchange_->Positions()->size(), 1u);
}

// Exactly once: BloFin executes the order and answers after the client's
// timeout (or the connection drops); the order is found by its client order
// id before anything is sent again.
TEST_P(BlofinExchangeTest, AnOrderExecutedButUnansweredIsFoundNotSentAgain) {
  for (const char* kind : {"timeout", "drop"}) {
    SCOPED_TRACE(kind);
    const std::string coid = absl::StrCat("once", kind);
    ASSERT_TRUE(fake_->Fault("/api/v1/trade/order", kind, 1, "\"delay_ms\":1500"));
    auto first = exchange_->PlaceOrder(Market(Side::kBuy, "1", coid));
    if (first.ok()) {
      EXPECT_EQ(first->order.status, OrderStatus::kFilled);  // resolved by the lookup
    } else {
      EXPECT_EQ(first.status().code(), absl::StatusCode::kUnavailable);
      EXPECT_THAT(first.status().message(), HasSubstr("never sent twice"));
    }
    OrderResult retry = exchange_->PlaceOrder(Market(Side::kBuy, "1", coid)).value();
    EXPECT_EQ(retry.order.status, OrderStatus::kFilled);
    EXPECT_EQ(retry.order.client_order_id, coid);
    EXPECT_EQ(StoredFills(retry.order.id).size(), 1u);
  }
  // libcurl resends a request once when a kept-alive connection drops; BloFin
  // refuses the copy (errors.md 152407, repeated nonce), which xctl treats as
  // an unknown outcome and resolves by the lookup.
  EXPECT_EQ(fake_->OrderCount("k1"), 2);
  EXPECT_EQ(StoredOrderCount(), 2);
  EXPECT_EQ(exchange_->Positions().value()[0].quantity, D("2"));
}

// No answer and not executed (the request never reached BloFin's engine):
// an unresolved row is kept; the retry looks first, then sends.
TEST_P(BlofinExchangeTest, AnOrderNeverExecutedIsSentByTheRetryAfterTheLookup) {
  ASSERT_TRUE(fake_->Fault("/api/v1/trade/order", "before_timeout", 1, "\"delay_ms\":1500"));
  auto first = exchange_->PlaceOrder(Market(Side::kBuy, "1", "late1"));
  EXPECT_EQ(first.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(first.status().message(), HasSubstr("outcome is unknown"));
  ASSERT_EQ(StoredOrderCount(), 1);  // the unresolved row
  EXPECT_TRUE(StoredOrders()[0].exchange_order_id.empty());
  const int lookups = fake_->Requests("GET /api/v1/trade/order-detail");
  OrderResult retry = exchange_->PlaceOrder(Market(Side::kBuy, "1", "late1")).value();
  EXPECT_EQ(retry.order.status, OrderStatus::kFilled);
  EXPECT_GT(fake_->Requests("GET /api/v1/trade/order-detail"), lookups);
  EXPECT_EQ(fake_->OrderCount("k1"), 1);
  EXPECT_EQ(StoredOrderCount(), 1);
  EXPECT_TRUE(exchange_->PlaceOrder(Market(Side::kBuy, "1", "late1"))->replayed);
  EXPECT_EQ(fake_->OrderCount("k1"), 1);
}

TEST_P(BlofinExchangeTest, AnUnresolvedOrderBlofinNeverHadIsClosedAsNeverPlaced) {
  exchange_.reset();
  BlofinExchangeConfig c = Config();
  c.unresolved_timeout = absl::ZeroDuration();
  auto ex = Make(c);
  ASSERT_TRUE(fake_->Fault("/api/v1/trade/order", "http_500"));
  EXPECT_EQ(ex->PlaceOrder(Market(Side::kBuy, "1", "gone1")).status().code(),
            absl::StatusCode::kUnavailable);
  std::vector<OrderResult> changed =
      ex->OnTick({.pair = "BTC-USDT", .last = D("64000")});
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].order.status, OrderStatus::kCanceled);
  EXPECT_THAT(changed[0].order.reject_reason, HasSubstr("never placed"));
  EXPECT_EQ(fake_->OrderCount("k1"), 0);
}

TEST_P(BlofinExchangeTest, ClientOrderIdReuseForAnotherOrderIsRefused) {
  ASSERT_TRUE(exchange_->PlaceOrder(Market(Side::kBuy, "1", "same")).ok());
  auto other = exchange_->PlaceOrder(Market(Side::kSell, "1", "same"));
  EXPECT_EQ(other.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(other.status().message(), HasSubstr("already used for a different order"));
  EXPECT_EQ(fake_->OrderCount("k1"), 1);
}

// index.md "Rate Limits": 30 trading requests per 10 s per user (9 here),
// kept on the client's side on a manual clock (no sleeping).
TEST_P(BlofinExchangeTest, TheSharedBudgetKeepsUnderBlofinsTradeLimit) {
  exchange_.reset();
  FakeClock clock(absl::Now());
  BlofinExchangeConfig c = Config();
  c.rest.budget = std::make_shared<RequestBudget>(
      fake_->base_url(), RequestLimits{.per_minute = 1000, .trade_per_window = 9}, &clock);
  auto limited = Make(c, &clock);
  // Each market order: the order, its order-detail and its fills, all under
  // /api/v1/trade/ (the docs do not say which are "trading-related": all are).
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(limited->PlaceOrder(Market(Side::kBuy, "0.1")).ok());
  auto fourth = limited->PlaceOrder(Market(Side::kBuy, "0.1"));
  EXPECT_EQ(fourth.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(fourth.status().message(), HasSubstr("9 trading requests per 10s"));
  EXPECT_EQ(fake_->OrderCount("k1"), 3);
  clock.Advance(absl::Seconds(10));
  EXPECT_TRUE(limited->PlaceOrder(Market(Side::kBuy, "0.1")).ok());
}

// Found by the chaos run (docs/cluster.md, "Chaos run"): a placement BloFin
// accepted whose fills read is then refused (xctl's own trading budget, 30
// requests per 10 s; index.md "Rate Limits") used to return the error and
// store nothing, so the retry with the same client order id placed the order
// at BloFin a second time. Now the order is stored before it is sent
// (BlofinExchange::Send's write-ahead row), the accepted placement keeps
// BloFin's order id, and the retry answers the first placement.
TEST_P(BlofinExchangeTest, AnOrderWhoseFillsReadIsRefusedIsNotPlacedAgainOnRetry) {
  exchange_.reset();
  FakeClock clock(absl::Now());
  BlofinExchangeConfig c = Config();
  // 3 orders x 3 requests, then the 4th order's placement and order detail
  // pass and its fills read is refused.
  c.rest.budget = std::make_shared<RequestBudget>(
      fake_->base_url(), RequestLimits{.per_minute = 1000, .trade_per_window = 11}, &clock);
  auto limited = Make(c, &clock);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(limited->PlaceOrder(Market(Side::kBuy, "0.1")).ok());
  auto fourth = limited->PlaceOrder(Market(Side::kBuy, "0.1", "twice1"));
  ASSERT_TRUE(fourth.ok()) << fourth.status();  // it is at BloFin: not an error
  EXPECT_FALSE(fourth->order.exchange_order_id.empty());
  EXPECT_EQ(fake_->OrderCount("k1"), 4);
  clock.Advance(absl::Seconds(10));
  auto retry = limited->PlaceOrder(Market(Side::kBuy, "0.1", "twice1"));
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->order.exchange_order_id, fourth->order.exchange_order_id);
  EXPECT_EQ(fake_->OrderCount("k1"), 4) << "the retry placed twice1 at BloFin again";
  // The next tick records the fills the refused read missed.
  limited->OnTick(Tick{.pair = "BTC-USDT", .bid = D("63985"), .ask = D("63986"), .last = D("63985")});
  int found = 0;
  for (const Order& o : StoredOrders()) {
    if (o.client_order_id != "twice1") continue;
    ++found;
    EXPECT_EQ(o.status, OrderStatus::kFilled);
    EXPECT_EQ(o.filled_quantity, D("0.1"));
  }
  EXPECT_EQ(found, 1);
}

// index.md "Rate Limits" / "Risk Control Restrictions": after a 429 or a
// 403 every request of the host waits; the manual clock moves past it.
TEST_P(BlofinExchangeTest, After429Or403NothingIsSentUntilTheBackOffPasses) {
  exchange_.reset();
  FakeClock clock(absl::Now());
  BlofinExchangeConfig c = Config();
  c.rest.ban_backoff = absl::Seconds(30);
  c.rest.budget = std::make_shared<RequestBudget>(fake_->base_url(), RequestLimits{}, &clock);
  auto ex = Make(c, &clock);
  ASSERT_TRUE(fake_->Fault("/api/v1/trade/order", "http_429", 1, "\"retry_after\":2"));
  auto r = ex->PlaceOrder(Market(Side::kBuy, "1"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(r.status().message(), HasSubstr("nothing is sent for 2 s"));
  EXPECT_EQ(StoredOrderCount(), 0);
  const int sent = fake_->Requests("POST /api/v1/trade/order");
  EXPECT_THAT(ex->Balance().status().message(), HasSubstr("back off (HTTP 429)"));
  EXPECT_EQ(fake_->Requests("POST /api/v1/trade/order"), sent);
  clock.Advance(absl::Seconds(2));
  ASSERT_TRUE(ex->PlaceOrder(Market(Side::kBuy, "1")).ok());

  ASSERT_TRUE(fake_->Fault("/api/v1/account/balance", "http_403"));
  EXPECT_THAT(ex->Balance().status().message(), HasSubstr("HTTP 403"));
  EXPECT_EQ(ex->PlaceOrder(Market(Side::kBuy, "1")).status().code(),
            absl::StatusCode::kResourceExhausted);
  clock.Advance(absl::Seconds(30));
  EXPECT_TRUE(ex->Balance().ok());
}

TEST_P(BlofinExchangeTest, ASkewedClockIsReportedAsSuch) {
  exchange_.reset();
  FakeClock last_year(absl::Now() - absl::Hours(24 * 365));
  BlofinExchangeConfig c = Config();
  c.rest.budget = std::make_shared<RequestBudget>(fake_->base_url(), RequestLimits{}, &last_year);
  auto r = Make(c, &last_year)->Balance();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("152405"));
  EXPECT_THAT(r.status().message(), HasSubstr("clock"));
}

// errors.md 102089 as a per-order code.
TEST_P(BlofinExchangeTest, PerOrderErrorCodesKeepBlofinsCodeAndText) {
  ASSERT_TRUE(fake_->Fault("/api/v1/trade/order", "code", 1,
                           "\"code\":\"102089\",\"msg\":\"Position mode mismatch\""));
  auto r = exchange_->PlaceOrder(Market(Side::kBuy, "1"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("BloFin 102089: Position mode mismatch"));
  EXPECT_THAT(r.status().message(), HasSubstr("one-way (net) mode"));
  EXPECT_EQ(blofin::BlofinCode(r.status()), "102089");
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

TEST_P(BlofinExchangeTest, PartialAndFullCloseUseReduceOnlyOrdersWithRealizedPnl) {
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
  OrderResult rest = exchange_->ClosePosition({.symbol = "BTC-USDT"}).value();
  EXPECT_TRUE(exchange_->Positions()->empty());
  // Realized pnl equals what the fake's fills say: the cash change of the
  // account is the sum of the closed rows' pnl.
  Account after = exchange_->Balance().value();
  Decimal pnl = *part.closed_positions[0].pnl + *rest.closed_positions[0].pnl;
  EXPECT_EQ(after.balance - D("10000"), pnl);
  EXPECT_EQ(exchange_->ClosePosition({.symbol = "BTC-USDT"}).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

// index.md "GET Futures Account Balance": the first read is the starting
// balance of a live strategy's KPIs, not the configured paper balance.
TEST_P(BlofinExchangeTest, BalanceIsReadFromBlofinAndTheFirstReadIsTheStart) {
  ASSERT_TRUE(fake_->AddAccount("k1", "s3cr3t-value", "pass-phrase", "2500.5"));
  ASSERT_TRUE(exchange_->PlaceOrder(Market(Side::kBuy, "1")).ok());
  Account a = exchange_->Balance().value();
  EXPECT_EQ(a.balance, D("2500.4615997"));
  EXPECT_EQ(a.starting_balance, D("2500.4615997"));  // the strategy's 10000 is paper's
  ASSERT_TRUE(exchange_->PlaceOrder(Market(Side::kSell, "1")).ok());
  Account b = exchange_->Balance().value();
  EXPECT_EQ(b.starting_balance, D("2500.4615997"));
  EXPECT_LT(b.balance, a.balance);
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

// One BloFin account per live strategy (docs/exchanges.md).
TEST_P(BlofinExchangeTest, ASecondLiveStrategyOnTheSameApiKeyIsRefused) {
  AddStrategy("live2");
  auto second = BlofinExchange::Open(Config("live2"), {store_.get(), &instruments_, &clock_});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(second.status().message(), HasSubstr("already used by live strategy live1"));
  EXPECT_THAT(second.status().message(), HasSubstr("sub-account"));
  ExpectNoSecrets(second.status());
  EXPECT_THAT(second.status().message(), Not(HasSubstr("k1\"")));
  // The same strategy may rebuild its exchange; once live1 lets go, live2 may.
  EXPECT_TRUE(BlofinExchange::Open(Config(), {store_.get(), &instruments_, &clock_}).ok());
  exchange_.reset();
  EXPECT_TRUE(BlofinExchange::Open(Config("live2"), {store_.get(), &instruments_, &clock_}).ok());
}

TEST_P(BlofinExchangeTest, ReconcileAdoptsWhatTheStoreLacksAndClosesWhatBlofinLacks) {
  ASSERT_TRUE(exchange_->PlaceOrder(Market(Side::kBuy, "1")).ok());
  OrderResult resting = exchange_->PlaceOrder(Limit(Side::kBuy, "60000", "1")).value();
  EXPECT_EQ(exchange_->Reconcile()->changes.size(), 0u);  // already in agreement
  exchange_.reset();

  // The account moves to another strategy: it adopts everything.
  AddStrategy("live2");
  auto other = Make(Config("live2"));
  ReconcileReport adopted = other->Reconcile().value();
  EXPECT_EQ(adopted.orders_adopted, 1);
  EXPECT_EQ(adopted.positions_adopted, 1);
  ASSERT_EQ(other->Positions()->size(), 1u);
  EXPECT_NE(other->Positions().value()[0].id, 0);  // now a stored row
  // Closed and cancelled there: live1's store follows BloFin when it is back.
  ASSERT_TRUE(other->ClosePosition({.symbol = "BTC-USDT"}).ok());
  ASSERT_TRUE(other->CancelOrder({.client_order_id = resting.order.client_order_id}).ok());
  other.reset();
  exchange_ = Make(Config());
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

// index.md "GET Active Orders": limit defaults to 20; paging with "after".
TEST_P(BlofinExchangeTest, EveryPageOfPendingOrdersIsFollowed) {
  exchange_.reset();
  BlofinExchangeConfig c = Config();
  auto ex = Make(c);
  ASSERT_TRUE(fake_->Control("limits", R"({"trade": null})"));
  for (int i = 0; i < 105; ++i) {
    ASSERT_TRUE(ex->PlaceOrder(Limit(Side::kBuy, absl::StrCat(50000 + i), "0.1")).ok()) << i;
  }
  EXPECT_EQ(ex->OpenOrders()->size(), 105u);
  rapidjson::Document log = Logged("/api/v1/trade/orders-pending");
  ASSERT_EQ(log["requests"].Size(), 2u);  // 100, then 5 after the 100th
  EXPECT_TRUE(log["requests"][1]["query"].HasMember("after"));
}

// index.md "GET Position Mode": hedge mode is refused with how to switch.
TEST_P(BlofinExchangeTest, AHedgeModeAccountIsRefusedWithHowToSwitch) {
  ASSERT_TRUE(
      Direct("/api/v1/account/set-position-mode", R"({"positionMode":"long_short_mode"})").ok());
  auto r = exchange_->PlaceOrder(Market(Side::kBuy, "1"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("long/short (hedge) position mode"));
  EXPECT_THAT(r.status().message(), HasSubstr("net_mode"));
  EXPECT_EQ(exchange_->Reconcile().status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(fake_->OrderCount("k1"), 0);
}

// index.md "Set Margin Mode", "GET Positions": positions keyed by margin mode.
TEST_P(BlofinExchangeTest, TheMarginModeIsTheStrategysAndOtherModesPositionsAreNotItsOwn) {
  ASSERT_TRUE(exchange_->PlaceOrder(Market(Side::kBuy, "1")).ok());  // cross
  exchange_.reset();
  BlofinExchangeConfig c = Config();
  c.margin_mode = "isolated";
  auto isolated = Make(c);
  // Setting the account's margin mode with a cross position open may be
  // refused by BloFin; either way no cross position is taken for its own.
  auto positions = isolated->Positions();
  ASSERT_TRUE(positions.ok()) << positions.status();
  EXPECT_TRUE(positions->empty());
  rapidjson::Document log = Logged("/api/v1/trade/order");
  ASSERT_GE(log["requests"].Size(), 1u);
  EXPECT_THAT(std::string(log["requests"][0]["body"].GetString()),
              HasSubstr("\"marginMode\":\"cross\""));
}

// Only parameters the docs list for each endpoint are ever sent.
TEST_P(BlofinExchangeTest, OnlyDocumentedParametersAreSent) {
  ASSERT_TRUE(exchange_->PlaceOrder(Limit(Side::kBuy, "60000", "1", "rest9")).ok());
  ASSERT_TRUE(exchange_->PlaceOrder(Market(Side::kBuy, "1")).ok());
  ASSERT_TRUE(exchange_->OpenOrders().ok());
  ASSERT_TRUE(exchange_->CancelOrder({.client_order_id = "rest9"}).ok());
  ASSERT_TRUE(exchange_->Reconcile().ok());
  // index.md "Request Parameters" of each GET endpoint.
  const std::map<std::string, std::set<std::string>> documented = {
      {"/api/v1/trade/order-detail", {"instId", "orderId", "clientOrderId", "algoClientOrderId"}},
      {"/api/v1/trade/orders-pending", {"instId", "orderType", "state", "after", "before", "limit"}},
      {"/api/v1/trade/fills-history",
       {"instId", "orderId", "after", "before", "begin", "end", "limit"}},
      {"/api/v1/account/positions", {"instId"}},
      {"/api/v1/trade/orders-history",
       {"instId", "orderType", "state", "after", "before", "begin", "end", "limit"}},
      {"/api/v1/account/balance", {"productType"}},
      {"/api/v1/account/position-mode", {}},
      {"/api/v1/account/margin-mode", {}},
  };
  int checked = 0;
  for (const auto& [path, allowed] : documented) {
    rapidjson::Document log = Logged(path);
    for (const auto& entry : log["requests"].GetArray()) {
      ++checked;
      for (const auto& param : entry["query"].GetObject()) {
        EXPECT_TRUE(allowed.contains(param.name.GetString()))
            << path << " was sent " << param.name.GetString();
      }
    }
  }
  EXPECT_GT(checked, 5);
}

TEST_P(BlofinExchangeTest, InstrumentsComeFromBlofinsInstrumentsEndpoint) {
  HttpClient http({});
  std::vector<Instrument> listed = blofin::FetchInstruments(http, fake_->base_url()).value();
  ASSERT_GE(listed.size(), 3u);
  InstrumentCatalog catalog(listed);
  Instrument eth = catalog.Get("ETH-USDT").value();
  EXPECT_EQ(eth.contract_value, D("0.01"));
  EXPECT_EQ(eth.tick_size, D("0.01"));
  ASSERT_TRUE(fake_->Fault("/api/v1/market/instruments", "malformed"));
  EXPECT_EQ(blofin::FetchInstruments(http, fake_->base_url()).status().code(),
            absl::StatusCode::kUnavailable);
}

// index.md "Place Order" (orderType post_only, ioc, fok), "GET Order Detail".
TEST_P(BlofinExchangeTest, PostOnlyIocAndFokAreSentAsDocumentedAndReadBackAsThemselves) {
  OrderRequest post = Limit(Side::kBuy, "64100", "1", "post1");  // would take at 64000.5
  post.type = OrderType::kPostOnly;
  OrderResult canceled = exchange_->PlaceOrder(post).value();
  EXPECT_EQ(canceled.order.type, OrderType::kPostOnly);
  EXPECT_EQ(canceled.order.status, OrderStatus::kCanceled);
  EXPECT_TRUE(canceled.fills.empty());
  post.client_order_id = "post2";
  post.price = D("63900");
  OrderResult resting = exchange_->PlaceOrder(post).value();
  EXPECT_EQ(resting.order.status, OrderStatus::kOpen);
  EXPECT_EQ(exchange_->OpenOrders().value()[0].type, OrderType::kPostOnly);

  OrderRequest ioc = Limit(Side::kBuy, "64100", "1", "ioc1");
  ioc.type = OrderType::kIoc;
  OrderResult filled = exchange_->PlaceOrder(ioc).value();
  EXPECT_EQ(filled.order.type, OrderType::kIoc);
  EXPECT_EQ(filled.order.status, OrderStatus::kFilled);
  EXPECT_EQ(filled.fills.size(), 1u);
  OrderRequest fok = Limit(Side::kSell, "64100", "1", "fok1");  // the bid is below
  fok.type = OrderType::kFok;
  OrderResult killed = exchange_->PlaceOrder(fok).value();
  EXPECT_EQ(killed.order.status, OrderStatus::kCanceled);
  EXPECT_TRUE(killed.fills.empty());

  rapidjson::Document log = Logged("/api/v1/trade/order");
  std::vector<std::string> types;
  for (const auto& entry : log["requests"].GetArray()) {
    rapidjson::Document body;
    body.Parse(entry["body"].GetString());
    types.push_back(body["orderType"].GetString());
  }
  EXPECT_THAT(types, ::testing::ElementsAre("post_only", "post_only", "ioc", "fok"));
  EXPECT_EQ(exchange_->Positions().value()[0].quantity, D("1"));
}

// index.md "Place Order" (tpTriggerPrice/tpOrderPrice, slTriggerPrice/
// slOrderPrice, -1 = market), "GET Order Detail" (read back), "GET Order
// History" (orderCategory tp/sl): the close BloFin places when the TP fires
// is recorded with its fills, not lost.
TEST_P(BlofinExchangeTest, TpSlAreSentAsDocumentedAndTheTriggeredCloseIsRecorded) {
  OrderRequest buy = Market(Side::kBuy, "1", "tpsl1");
  buy.take_profit = TriggerOrder{.trigger_price = D("64100")};
  buy.stop_loss = TriggerOrder{.trigger_price = D("63000"), .order_price = D("62990")};
  OrderResult opened = exchange_->PlaceOrder(buy).value();
  EXPECT_EQ(opened.order.take_profit, buy.take_profit);
  EXPECT_EQ(opened.order.stop_loss, buy.stop_loss);
  ASSERT_EQ(opened.open_positions.size(), 1u);
  EXPECT_EQ(opened.open_positions[0].take_profit, buy.take_profit);
  rapidjson::Document log = Logged("/api/v1/trade/order");
  ASSERT_EQ(log["requests"].Size(), 1u);
  rapidjson::Document body;
  body.Parse(log["requests"][0]["body"].GetString());
  EXPECT_STREQ(body["tpTriggerPrice"].GetString(), "64100");
  EXPECT_STREQ(body["tpOrderPrice"].GetString(), "-1");
  EXPECT_STREQ(body["slTriggerPrice"].GetString(), "63000");
  EXPECT_STREQ(body["slOrderPrice"].GetString(), "62990");
  // An order with a TP/SL on a reduce-only order is refused before sending.
  OrderRequest reduce = Market(Side::kSell, "1");
  reduce.reduce_only = true;
  reduce.take_profit = TriggerOrder{.trigger_price = D("63000")};
  EXPECT_EQ(exchange_->PlaceOrder(reduce).status().code(), absl::StatusCode::kInvalidArgument);

  Tick tick{.pair = "BTC-USDT", .bid = D("64099"), .ask = D("64100"), .last = D("64100")};
  EXPECT_TRUE(exchange_->OnTick(tick).empty());  // BloFin's price has not moved yet
  ASSERT_TRUE(fake_->SetTickers(R"({"BTC-USDT":{"bid":"64099","ask":"64100","last":"64100"}})"));
  std::vector<OrderResult> closes = exchange_->OnTick(tick);
  ASSERT_EQ(closes.size(), 1u);
  const OrderResult& close = closes[0];
  EXPECT_TRUE(close.order.reduce_only);
  EXPECT_EQ(close.order.side, Side::kSell);
  EXPECT_EQ(close.order.status, OrderStatus::kFilled);
  EXPECT_THAT(close.order.client_order_id, ::testing::StartsWith("bf"));
  ASSERT_EQ(close.fills.size(), 1u);
  EXPECT_EQ(close.fills[0].price, D("64099"));
  ASSERT_EQ(close.closed_positions.size(), 1u);
  EXPECT_NE(close.closed_positions[0].pnl, D("0"));
  EXPECT_EQ(StoredOrderCount(), 2);
  EXPECT_TRUE(exchange_->Positions()->empty());
  // Recorded once: later ticks find nothing new, and history is no longer read.
  const int history_reads = Logged("/api/v1/trade/orders-history")["requests"].Size();
  EXPECT_TRUE(exchange_->OnTick(tick).empty());
  EXPECT_EQ(Logged("/api/v1/trade/orders-history")["requests"].Size(), history_reads);
}

// The same close, made while xctl was away, is recorded at reconciliation
// instead of the position being closed with an unknown pnl.
TEST_P(BlofinExchangeTest, ReconcileRecordsATpSlCloseMadeWhileAway) {
  OrderRequest sell = Market(Side::kSell, "2", "tpsl2");
  sell.stop_loss = TriggerOrder{.trigger_price = D("64200")};
  ASSERT_TRUE(exchange_->PlaceOrder(sell).ok());
  ASSERT_TRUE(fake_->SetTickers(R"({"BTC-USDT":{"bid":"64200","ask":"64200.5","last":"64200"}})"));
  ReconcileReport report = exchange_->Reconcile().value();
  EXPECT_EQ(report.positions_closed, 0);
  EXPECT_THAT(absl::StrJoin(report.changes, "\n"), HasSubstr("take-profit / stop-loss"));
  std::vector<Order> stored = StoredOrders();
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[0].side, Side::kBuy);  // newest first
  EXPECT_EQ(stored[0].status, OrderStatus::kFilled);
  EXPECT_EQ(StoredFills(stored[0].id).size(), 1u);
  EXPECT_TRUE(exchange_->Positions()->empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, BlofinExchangeTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace xctl

namespace xctl {
namespace {

// index.md "GET Funding Rate History": the settled rates since the position
// opened become computed payments, once each; the balance is read after.
TEST_P(BlofinExchangeTest, LiveFundingIsComputedFromTheSettledRatesOncePerSettlement) {
  ASSERT_TRUE(exchange_->PlaceOrder(Market(Side::kSell, "10")).ok());
  std::optional<Position> stored;
  ASSERT_TRUE(store_->Read([&](Tx& tx) -> absl::Status {
    auto row = tx.positions().GetOpen("live1", "BTC-USDT");
    if (row.ok()) stored = *row;
    return row.status();
  }).ok());
  ASSERT_TRUE(stored.has_value());
  const Position open = *stored;
  ASSERT_TRUE(fake_->Control(
      "funding-history",
      absl::StrCat(R"({"BTC-USDT":[{"fundingRate":"0.0001","fundingTime":")", open.open_time_ms,
                   R"("},{"fundingRate":"0.0003","fundingTime":")", open.open_time_ms - 1,
                   R"("}]})")));
  Tick tick{.pair = "BTC-USDT", .last = D("64000.2")};
  std::vector<OrderResult> results = exchange_->OnTick(tick);
  ASSERT_EQ(results.size(), 1u);
  ASSERT_EQ(results[0].funding.size(), 1u);  // the earlier settlement is before the opening
  const FundingPayment& paid = results[0].funding[0];
  EXPECT_EQ(paid.amount, D("0.0640002"));  // a short receives a positive rate
  EXPECT_EQ(paid.mode, TradingMode::kLive);
  EXPECT_EQ(paid.source, "computed");
  ASSERT_TRUE(results[0].account.has_value());
  EXPECT_EQ(results[0].account->balance, exchange_->Balance().value().balance);

  // A restarted exchange checks again at once and records nothing twice.
  exchange_.reset();
  BlofinExchangeConfig c = Config();
  c.funding_check_interval = absl::ZeroDuration();
  exchange_ = Make(c);
  for (const OrderResult& r : exchange_->OnTick(tick)) EXPECT_TRUE(r.funding.empty());
  std::vector<FundingPayment> rows;
  ASSERT_TRUE(store_->Read([&](Tx& tx) -> absl::Status {
    auto list = tx.funding().ListByStrategy("live1");
    if (list.ok()) rows = *list;
    return list.status();
  }).ok());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].settlement_time_ms, open.open_time_ms);
  EXPECT_EQ(rows[0].side, PositionSide::kShort);
}

}  // namespace
}  // namespace xctl
