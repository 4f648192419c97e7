// Pushed results reach exchange control at once (docs/control.md, "Pushed
// results"): a live strategy's BlofinExchange, made by the default factory,
// follows the fake BloFin's private WebSocket (tests/fake_blofin,
// fake_ws_private.py; index.md "WS Order Channel") over real loopback
// sockets. The fake fills a resting order; no tick reaches the router and the
// Clock (a FakeClock) never moves, yet the Portfolio's feed shows the fill:
// the exchange announced it (Exchange::SetResultsReady) and the router's
// worker took it (TakeResults).
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "server/common/request_budget.h"
#include "server/control/exchange_factory.h"
#include "server/control/order_router.h"
#include "server/control/portfolio.h"
#include "tests/support/fake_blofin.h"
#include "tests/support/fixed_prices.h"
#include "tests/support/test_databases.h"

namespace xctl {
namespace {

using ::xctl::testing::FakeBlofin;
using ::xctl::testing::FixedPrices;
using ::xctl::testing::TestDatabase;
using ::xctl::testing::WaitFor;

Decimal D(absl::string_view s) { return Decimal::Parse(s).value(); }

class PushedResultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fake_.ok());
    ASSERT_TRUE(fake_.WsControl(R"({"connect_interval_ms":0})"));
    ASSERT_TRUE(fake_.AddAccount("key", "secret", "pass"));
    ASSERT_TRUE(fake_.SetTickers(R"({"BTC-USDT":{"bid":"64000","ask":"64000.5","last":"64000"}})"));
    prices_.Set("BTC-USDT", "64000", "64000.5", "64000");
    store_ = Store::Open({.url = db_.url()}).value();
    ASSERT_TRUE(store_->Transact([&](Tx& tx) {
      return tx.strategies().Insert({.id = "l1", .name = "l1", .type = "aibot",
                                     .pairs = {"BTC-USDT"}, .starting_balance = D("10000"),
                                     .running = true});
    }).ok());
    blofin::RestOptions rest;
    rest.base_url = fake_.base_url();
    rest.ws_private_url = fake_.ws_private_url();
    rest.limits.per_minute = 100000;
    rest.limits.trade_per_window = 100000;
    rest.budget = std::make_shared<RequestBudget>("fake", rest.limits, &clock_);
    factory_ = std::make_unique<DefaultExchangeFactory>(
        DefaultExchangeFactory::Deps{store_.get(), &prices_, &instruments_, &clock_}, rest);
    portfolio_ = std::make_unique<Portfolio>(
        Portfolio::Deps{store_.get(), &prices_, &instruments_, &clock_});
    router_ = std::make_unique<OrderRouter>(
        OrderRouter::Deps{store_.get(), factory_.get(), portfolio_.get()});
    StrategyInfo info{.id = "l1", .type = "aibot", .pairs = {"BTC-USDT"}, .running = true,
                      .leverage = D("3")};
    info.credentials = BlofinCredentials{Secret("key"), Secret("secret"), Secret("pass")};
    ASSERT_TRUE(router_->UpsertStrategy(info).ok());
    // Logged in and subscribed (the fake counts the subscriptions).
    ASSERT_TRUE(WaitFor([&] { return Subscribed() == 3; }));
  }
  void TearDown() override {
    router_.reset();  // its exchanges first, then what they report to
    if (portfolio_) EXPECT_EQ(portfolio_->CheckIntegrity(), absl::OkStatus());
  }

  // Private channels subscribed on the fake (GET /_control/ws "private").
  int Subscribed() {
    rapidjson::Document doc;
    doc.Parse(fake_.ControlGet("ws").c_str());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("private")) return -1;
    int n = 0;
    for (const auto& ch : doc["private"]["subscribed"].GetObject()) n += ch.value.GetInt();
    return n;
  }
  absl::StatusOr<OrderResult> RestingBuy(const std::string& cid) {
    return router_->PlaceOrder({.strategy_id = "l1", .client_order_id = cid,
                                .symbol = "BTC-USDT", .side = Side::kBuy,
                                .type = OrderType::kLimit, .price = D("63000"),
                                .quantity = D("1")});
  }
  // Asks at 62999 on the fake only: the resting buy at 63000 fills there and
  // is pushed; the router sees no tick.
  bool CrossOnTheExchange() {
    return fake_.SetTickers(R"({"BTC-USDT":{"bid":"62998","ask":"62999","last":"62999"}})");
  }

  FakeBlofin fake_{/*websocket=*/true};
  TestDatabase db_{"sqlite"};
  // At the real time (the fake checks login timestamps), never advanced.
  FakeClock clock_{absl::Now()};
  FixedPrices prices_;
  InstrumentCatalog instruments_{DefaultInstruments()};
  std::unique_ptr<Store> store_;
  std::unique_ptr<DefaultExchangeFactory> factory_;
  std::unique_ptr<Portfolio> portfolio_;
  std::unique_ptr<OrderRouter> router_;
};

TEST_F(PushedResultsTest, APushedFillIsPublishedWithoutATick) {
  router_->Start(nullptr);  // the worker; no price bus, no tick
  absl::Notification opened;
  auto sub = portfolio_->feed().Subscribe({}, /*positions=*/true, /*kpis=*/false, [&] {
    if (opened.HasBeenNotified()) return;
    opened.Notify();
  });
  auto placed = RestingBuy("p1");
  ASSERT_TRUE(placed.ok()) << placed.status();
  ASSERT_EQ(placed->order.status, OrderStatus::kOpen);
  ASSERT_TRUE(portfolio_->OpenRows("l1")->empty());
  ASSERT_TRUE(CrossOnTheExchange());
  ASSERT_TRUE(opened.WaitForNotificationWithTimeout(absl::Seconds(15)));
  FeedSubscription::Batch batch = sub->Drain();
  ASSERT_EQ(batch.positions.size(), 1u);
  EXPECT_EQ(batch.positions[0].position.quantity, D("1"));
  EXPECT_EQ(batch.positions[0].position.open_price, D("63000"));
  auto rows = portfolio_->OpenRows("l1");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  router_->Stop();
}

// Without a worker the announcement waits for ProcessPendingResults, and
// the results are handed over once.
TEST_F(PushedResultsTest, AnnouncedResultsAreTakenOnceByProcessPendingResults) {
  ASSERT_TRUE(RestingBuy("p2").ok());
  ASSERT_TRUE(CrossOnTheExchange());
  // Stored by the push, not yet published.
  ASSERT_TRUE(WaitFor([&] {
    bool filled = false;
    EXPECT_TRUE(store_->Read([&](Tx& tx) -> absl::Status {
      auto o = tx.orders().GetByClientOrderId("l1", "p2");
      filled = o.ok() && *o && (*o)->status == OrderStatus::kFilled;
      return absl::OkStatus();
    }).ok());
    return filled;
  }));
  // Queued and announced just after the store's commit.
  ASSERT_TRUE(WaitFor([&] {
    router_->ProcessPendingResults();
    auto rows = portfolio_->OpenRows("l1");
    return rows.ok() && rows->size() == 1;
  }));
  EXPECT_EQ((*portfolio_->OpenRows("l1"))[0].quantity, D("1"));
  router_->ProcessPendingResults();  // nothing twice
  auto rows = portfolio_->OpenRows("l1");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].quantity, D("1"));
}

}  // namespace
}  // namespace xctl
