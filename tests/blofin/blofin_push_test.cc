// BlofinExchange with its private WebSocket (private_ws.h, blofin_push.cc)
// against the fake BloFin (tests/fake_blofin: fake_ws_private.py serves
// /ws/private; index.md, "WebSocket" > "WebSocket Authentication", "WS Order
// Channel", "WS Positions Channel", "WS Account Channel") over real loopback
// sockets, with a real SQLite file or PostgreSQL database. The back-off
// between connections waits on a FakeClock, which the tests move.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "server/common/error_reason.h"
#include "server/common/status_macros.h"
#include "server/exchange/blofin/blofin_exchange.h"
#include "tests/support/fake_blofin.h"
#include "tests/support/test_databases.h"

namespace xctl {
namespace {

using ::xctl::testing::FakeBlofin;
using ::xctl::testing::TestDatabase;
using ::xctl::testing::WaitFor;

// The private REST reads that follow orders (index.md "GET Order Detail",
// "GET Trade History", "GET Active Orders").
constexpr const char* kOrderReads[] = {"GET /api/v1/trade/order-detail",
                                       "GET /api/v1/trade/fills-history",
                                       "GET /api/v1/trade/orders-pending"};

Decimal D(absl::string_view s) { return Decimal::Parse(s).value(); }

// The suite's fake (a child process with its WebSocket), made on first use
// and ended at exit.
FakeBlofin& Fake() {
  static FakeBlofin fake(/*websocket=*/true);
  return fake;
}

class BlofinPushTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Fake().ok());
    ASSERT_TRUE(Fake().Control("reset", "{}"));
    // Reconnects follow the FakeClock, faster than BloFin's one a second.
    ASSERT_TRUE(Fake().WsControl(R"({"connect_interval_ms":0})"));
    ASSERT_TRUE(Fake().AddAccount("k1", "s3cr3t-value", "pass-phrase"));
    ASSERT_TRUE(Fake().SetTickers(R"({"BTC-USDT":{"bid":"64000","ask":"64000.5","last":"64000"}})"));
    db_ = std::make_unique<TestDatabase>(GetParam());
    XCTL_REQUIRE_DATABASE(*db_);
    store_ = Store::Open({.url = db_->url()}).value();
    ASSERT_TRUE(store_->Transact([&](Tx& tx) {
      return tx.strategies().Insert({.id = "live1", .name = "live1", .type = "aibot",
                                     .pairs = {"BTC-USDT"}, .starting_balance = D("10000")});
    }).ok());
  }
  void TearDown() override { exchange_.reset(); }

  void Open(bool websocket = true) {
    BlofinExchangeConfig c;
    c.strategy_id = "live1";
    c.credentials = {Secret("k1"), Secret("s3cr3t-value"), Secret("pass-phrase")};
    c.rest.base_url = Fake().base_url();
    if (websocket) c.rest.ws_private_url = Fake().ws_private_url();
    c.rest.limits.per_minute = 100000;
    c.rest.limits.trade_per_window = 100000;
    // A budget on this test's clock (the host's shared one would keep the
    // first test's).
    c.rest.budget = std::make_shared<RequestBudget>("fake", c.rest.limits, &clock_);
    c.order_sync_interval = absl::ZeroDuration();
    c.private_ws.ping_after_ms = 2000;
    auto ex = BlofinExchange::Open(std::move(c), {.store = store_.get(),
                                                  .instruments = &instruments_,
                                                  .clock = &clock_});
    ASSERT_TRUE(ex.ok()) << ex.status();
    exchange_ = *std::move(ex);
  }
  // Ready and its (re)connect's REST reconcile done `n` times.
  bool ReadyAndReconciled(uint64_t n = 1) {
    return WaitFor([&] {
      return exchange_->private_ws()->Ready() && exchange_->push_stats().gap_refreshes >= n;
    });
  }
  Order RestingBuy(const std::string& cid, absl::string_view price = "63000") {
    auto r = exchange_->PlaceOrder({.strategy_id = "live1", .client_order_id = cid,
                                    .symbol = "BTC-USDT", .side = Side::kBuy,
                                    .type = OrderType::kLimit, .price = D(price),
                                    .quantity = D("1")});
    EXPECT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->order.status, OrderStatus::kOpen);
    return r->order;
  }
  // Asks at 62999: the resting buys at 63000 fill (maker, at their price).
  bool CrossBuys() {
    return Fake().SetTickers(R"({"BTC-USDT":{"bid":"62998","ask":"62999","last":"62999"}})");
  }
  // How many fills the store holds for the order.
  size_t StoredFills(int64_t order_id) {
    size_t n = 0;
    absl::Status read = store_->Read([&](Tx& tx) -> absl::Status {
      XCTL_ASSIGN_OR_RETURN(std::vector<Fill> fills, tx.fills().ListByOrder(order_id));
      n = fills.size();
      return absl::OkStatus();
    });
    EXPECT_TRUE(read.ok()) << read;
    return n;
  }
  Order Stored(int64_t id) {
    Order o;
    EXPECT_TRUE(store_->Read([&](Tx& tx) -> absl::Status {
      XCTL_ASSIGN_OR_RETURN(o, tx.orders().Get(id));
      return absl::OkStatus();
    }).ok());
    return o;
  }
  std::vector<OrderResult> Tick() {
    return exchange_->OnTick(xctl::Tick{.pair = "BTC-USDT", .bid = D("62998"), .ask = D("62999"),
                                        .last = D("62999"),
                                        .exchange_time_ms = clock_.NowMillis()});
  }
  int OrderReads() {
    int n = 0;
    for (const char* path : kOrderReads) n += Fake().Requests(path);
    return n;
  }
  int PrivateStat(const std::string& member) {
    rapidjson::Document doc;
    doc.Parse(Fake().ControlGet("ws").c_str());
    if (doc.HasParseError() || !doc.HasMember("private")) return -1;
    const auto& v = doc["private"][member.c_str()];
    return v.IsInt() ? v.GetInt() : -1;
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<Store> store_;
  InstrumentCatalog instruments_{DefaultInstruments()};
  // At the real time: the fake checks login and REST timestamps (60 s).
  FakeClock clock_{absl::Now()};
  std::unique_ptr<BlofinExchange> exchange_;
};

size_t FillCount(const std::vector<OrderResult>& results) {
  size_t n = 0;
  for (const OrderResult& r : results) n += r.fills.size();
  return n;
}

// "WS Order Channel": a fill is pushed; it is recorded once (by its trade id,
// "GET Trade History") and handed to OnTick for exchange control to publish.
TEST_P(BlofinPushTest, PushedFillIsStoredOnceAndPublished) {
  Open();
  ASSERT_TRUE(ReadyAndReconciled());
  Order order = RestingBuy("p1");
  ASSERT_TRUE(CrossBuys());
  ASSERT_TRUE(WaitFor([&] { return StoredFills(order.id) == 1; }));
  EXPECT_EQ(Stored(order.id).status, OrderStatus::kFilled);
  std::vector<OrderResult> published = Tick();
  EXPECT_EQ(FillCount(published), 1u);
  EXPECT_EQ(FillCount(Tick()), 0u);  // published once
  EXPECT_EQ(StoredFills(order.id), 1u);
  EXPECT_GE(exchange_->push_stats().fills_recorded, 1u);
  // "WS Account Channel": the balance pushed after the fill is stored.
  EXPECT_TRUE(WaitFor([&] { return exchange_->push_stats().accounts_applied >= 1; }));
}

// Every push sent twice: the second finds the order up to date and changes
// nothing.
TEST_P(BlofinPushTest, DuplicatedPushAppliesOnce) {
  ASSERT_TRUE(Fake().WsControl(R"({"duplicate_pushes":true})"));
  Open();
  ASSERT_TRUE(ReadyAndReconciled());
  Order order = RestingBuy("d1");
  ASSERT_TRUE(CrossBuys());
  ASSERT_TRUE(WaitFor([&] { return StoredFills(order.id) == 1; }));
  ASSERT_TRUE(WaitFor([&] { return exchange_->push_stats().orders_ignored >= 2; }));
  EXPECT_EQ(StoredFills(order.id), 1u);
  EXPECT_EQ(FillCount(Tick()), 1u);
}

// A dropped connection: the fill made meanwhile is not pushed; the reconnect
// (back-off on the Clock), login, subscribe and REST refresh record it once.
TEST_P(BlofinPushTest, DropReconnectsLogsInResubscribesAndReconciles) {
  Open();
  ASSERT_TRUE(ReadyAndReconciled());
  Order order = RestingBuy("r1");
  ASSERT_TRUE(Fake().WsControl(R"({"drop":true})"));
  ASSERT_TRUE(clock_.AwaitSleeper());  // noticed, waiting out the back-off
  EXPECT_FALSE(exchange_->private_ws()->Ready());
  ASSERT_TRUE(WaitFor([&] { return Fake().WsStat("connections") == 0; }));
  ASSERT_TRUE(CrossBuys());  // filled while no connection is up
  EXPECT_EQ(StoredFills(order.id), 0u);
  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(ReadyAndReconciled(2));
  EXPECT_EQ(PrivateStat("logins"), 2);
  EXPECT_EQ(exchange_->private_ws()->stats().ready, 2u);
  EXPECT_EQ(StoredFills(order.id), 1u);
  EXPECT_EQ(Stored(order.id).status, OrderStatus::kFilled);
  EXPECT_EQ(FillCount(Tick()), 1u);
  // A later fill is pushed again on the new connection.
  Order second = RestingBuy("r2", "62000");
  ASSERT_TRUE(Fake().SetTickers(R"({"BTC-USDT":{"bid":"61998","ask":"61999","last":"61999"}})"));
  ASSERT_TRUE(WaitFor([&] { return StoredFills(second.id) == 1; }));
  EXPECT_EQ(StoredFills(order.id), 1u);
}

// A stalled connection (no 'pong'): closed after the ping deadline and made
// again ("WebSocket Connection Management").
TEST_P(BlofinPushTest, StallIsDetectedAndTheConnectionMadeAgain) {
  Open();
  ASSERT_TRUE(ReadyAndReconciled());
  ASSERT_TRUE(Fake().WsControl(R"({"stall":true})"));
  ASSERT_TRUE(clock_.AwaitSleeper(absl::Seconds(20)));
  EXPECT_EQ(exchange_->private_ws()->stats().stalls, 1u);
  ASSERT_TRUE(Fake().WsControl(R"({"stall":false})"));
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(ReadyAndReconciled(2));
}

// A malformed frame is dropped and counted; the connection stays.
TEST_P(BlofinPushTest, MalformedFrameIsIgnored) {
  Open();
  ASSERT_TRUE(ReadyAndReconciled());
  ASSERT_TRUE(Fake().WsControl(R"({"malformed":"{\"arg\":{\"channel\":\"orders\"},\"data\":[{}]}"})"));
  ASSERT_TRUE(WaitFor([&] { return exchange_->private_ws()->stats().malformed == 1; }));
  EXPECT_TRUE(exchange_->private_ws()->Ready());
  EXPECT_EQ(exchange_->private_ws()->stats().ready, 1u);
}

// errors on login ("WebSocket Authentication": 60009): a clear status with a
// stable reason, no secret in it, and resting orders polled as without a
// connection.
TEST_P(BlofinPushTest, RefusedLoginHasAReasonAndFallsBackToPolling) {
  ASSERT_TRUE(Fake().WsControl(R"({"refuse_login":1000})"));
  Open();
  ASSERT_TRUE(WaitFor([&] { return exchange_->private_ws()->state() == "login_refused"; }));
  absl::Status status = exchange_->private_ws()->status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(status), std::optional<std::string>(reason::kExchangeRejected));
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("60009"));
  EXPECT_THAT(std::string(status.message()), ::testing::Not(::testing::HasSubstr("s3cr3t-value")));
  EXPECT_THAT(std::string(status.message()), ::testing::Not(::testing::HasSubstr("pass-phrase")));
  EXPECT_FALSE(exchange_->private_ws()->Ready());
  Order order = RestingBuy("f1", "60000");
  const int before = OrderReads();
  for (int i = 0; i < 5; ++i) Tick();
  EXPECT_GE(OrderReads() - before, 5);  // one order-detail per tick
  ASSERT_TRUE(Fake().SetTickers(R"({"BTC-USDT":{"bid":"59998","ask":"59999","last":"59999"}})"));
  EXPECT_EQ(FillCount(Tick()), 1u);
  EXPECT_EQ(StoredFills(order.id), 1u);
}

// With the connection up, resting orders cost no periodic REST request (the
// fake's request log); without it, every tick reads each one.
TEST_P(BlofinPushTest, RestingOrdersCostNoPeriodicRequestWhileConnected) {
  // Without the trading limit (30 a 10 s, index.md "Rate Limits") the
  // polling's cost shows whole.
  ASSERT_TRUE(Fake().Control("limits", R"({"trade": null})"));
  Open();
  ASSERT_TRUE(ReadyAndReconciled());
  for (int i = 0; i < 3; ++i) RestingBuy(absl::StrCat("q", i), "60000");
  const int before = OrderReads();
  for (int i = 0; i < 20; ++i) Tick();
  EXPECT_EQ(OrderReads() - before, 0);
  exchange_.reset();
  Open(/*websocket=*/false);
  const int polled = OrderReads();
  for (int i = 0; i < 20; ++i) Tick();
  EXPECT_GE(OrderReads() - polled, 60);
}

INSTANTIATE_TEST_SUITE_P(Backends, BlofinPushTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace xctl
