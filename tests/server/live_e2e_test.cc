// A live strategy end to end: xctld (real binary, gRPC on loopback) trading
// on the local BloFin server built from BloFin's documentation
// (tests/fake_blofin). What a person with API keys sees: the account's real
// balance as the KPIs' start, a market order recorded as itself while a limit
// order rests, a close whose realized PnL equals the exchange's cash change,
// an unanswered order that is placed exactly once, a rejection inside a
// "code":"0" answer, a hedge-mode account and a shared key refused with how
// to fix them, and a strategy that starts once BloFin becomes reachable.
#include <fstream>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "server/exchange/blofin/rest_client.h"
#include "tests/server/running_xctld.h"
#include "tests/support/fake_blofin.h"
#include "tests/support/tcp_proxy.h"
#include "xctl/v1/exchange_control.grpc.pb.h"
#include "xctl/v1/strategy_manager.grpc.pb.h"

namespace xctl {
namespace {

using ::testing::HasSubstr;
using ::xctl::testing::FakeBlofin;
using ::xctl::testing::MakeTempDir;
using ::xctl::testing::RunningXctld;
using ::xctl::testing::TcpProxy;

template <typename Ctx>
void Deadline(Ctx& c) {
  c.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
}

Decimal D(absl::string_view s) { return Decimal::Parse(s).value(); }

class LiveE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fake_.ok());
    ASSERT_TRUE(fake_.AddAccount("live-key", "live-secret", "live-pass", "5000.123456789012345678"));
    dir_ = MakeTempDir("live-e2e");
  }

  std::string Config(const std::string& blofin_url, const std::string& strategies) {
    std::string path = dir_ + "/xctl.yaml";
    std::ofstream(path) << "price:\n  source: blofin\n  blofin_url: " << fake_.base_url()
                        << "\n  pairs: [BTC-USDT]\n  interval_ms: 100\nblofin:\n  url: "
                        << blofin_url << "\n  timeout_ms: 700\n  requests_per_minute: 100000\n"
                        << "strategies:\n" << strategies;
    return path;
  }
  static std::string Live(const std::string& id, const std::string& key_env = "LIVE_KEY") {
    return absl::StrCat("  - id: ", id, "\n    type: external\n    pairs: [BTC-USDT]\n",
                        "    leverage: \"3\"\n    credentials_env: {api_key: ", key_env,
                        ", api_secret: LIVE_SECRET, passphrase: LIVE_PASS}\n");
  }
  std::unique_ptr<RunningXctld> Start(const std::string& config) {
    auto server = std::make_unique<RunningXctld>(
        std::vector<std::string>{"--config=" + config}, dir_,
        std::vector<std::string>{"LIVE_KEY=live-key", "LIVE_SECRET=live-secret",
                                 "LIVE_PASS=live-pass"});
    EXPECT_TRUE(server->ok()) << server->process().Stderr();
    return server;
  }

  grpc::Status Place(RunningXctld& s, v1::Side side, v1::OrderType type, const std::string& qty,
                     const std::string& price, const std::string& coid,
                     v1::PlaceOrderResponse* resp) {
    grpc::ClientContext c;
    Deadline(c);
    v1::PlaceOrderRequest req;
    req.set_strategy_id("l1");
    req.set_symbol("BTC-USDT");
    req.set_side(side);
    req.set_type(type);
    req.mutable_quantity()->set_value(qty);
    if (!price.empty()) req.mutable_price()->set_value(price);
    req.set_client_order_id(coid);
    return v1::ExchangeControl::NewStub(s.channel())->PlaceOrder(&c, req, resp);
  }
  v1::Kpis Kpis(RunningXctld& s) {
    grpc::ClientContext c;
    Deadline(c);
    v1::GetKpisRequest req;
    req.set_strategy_id("l1");
    v1::GetKpisResponse resp;
    EXPECT_TRUE(v1::ExchangeControl::NewStub(s.channel())->GetKpis(&c, req, &resp).ok());
    return resp.strategies_size() ? resp.strategies(0) : v1::Kpis();
  }
  v1::Balance Balance(RunningXctld& s) {
    grpc::ClientContext c;
    Deadline(c);
    v1::GetBalanceRequest req;
    req.set_strategy_id("l1");
    v1::GetBalanceResponse resp;
    grpc::Status st = v1::ExchangeControl::NewStub(s.channel())->GetBalance(&c, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.balance();
  }
  v1::Strategy Strategy(RunningXctld& s, const std::string& id) {
    grpc::ClientContext c;
    Deadline(c);
    v1::GetStrategyRequest req;
    req.set_id(id);
    v1::GetStrategyResponse resp;
    EXPECT_TRUE(v1::StrategyManager::NewStub(s.channel())->GetStrategy(&c, req, &resp).ok());
    return resp.strategy();
  }
  // The fake account's USDT cash.
  Decimal FakeCash() {
    rapidjson::Document doc;
    doc.Parse(fake_.ControlGet("accounts/state?apiKey=live-key").c_str());
    return Decimal::ParseRounded(doc["balance"].GetString()).value();
  }

  FakeBlofin fake_;
  std::string dir_;
};

TEST_F(LiveE2e, ALiveStrategyTradesAndItsKpisFollowTheAccount) {
  auto server = Start(Config(fake_.base_url(), Live("l1")));
  ASSERT_TRUE(server->ok());
  ASSERT_EQ(Strategy(*server, "l1").status(), v1::STRATEGY_STATUS_RUNNING);
  // The KPIs start from the account's real balance (18 fraction digits,
  // rounded to 9), not from a configured paper balance.
  v1::Balance start = Balance(*server);
  EXPECT_EQ(start.mode(), v1::TRADING_MODE_LIVE);
  EXPECT_EQ(start.balance().value(), "5000.123456789");
  EXPECT_EQ(Kpis(*server).starting_balance().value(), "5000.123456789");

  v1::PlaceOrderResponse resting, market, close;
  ASSERT_TRUE(Place(*server, v1::SIDE_BUY, v1::ORDER_TYPE_LIMIT, "1", "60000", "rest1", &resting)
                  .ok());
  EXPECT_EQ(resting.order().status(), v1::ORDER_STATUS_OPEN);
  ASSERT_TRUE(
      Place(*server, v1::SIDE_BUY, v1::ORDER_TYPE_MARKET, "2", "", "mkt1", &market).ok());
  EXPECT_EQ(market.order().client_order_id(), "mkt1");
  EXPECT_EQ(market.order().status(), v1::ORDER_STATUS_FILLED);
  EXPECT_EQ(market.order().quantity().value(), "2");
  EXPECT_EQ(market.order().average_price().value(), "64000.5");

  grpc::ClientContext c;
  Deadline(c);
  v1::ClosePositionRequest req;
  req.set_strategy_id("l1");
  req.set_symbol("BTC-USDT");
  v1::ClosePositionResponse closed;
  grpc::Status st = v1::ExchangeControl::NewStub(server->channel())->ClosePosition(&c, req, &closed);
  ASSERT_TRUE(st.ok()) << st.error_message();
  // Realized PnL (net of fees) equals the change of the exchange's cash.
  v1::Kpis kpis = Kpis(*server);
  const Decimal cash_change =
      FakeCash() - Decimal::ParseRounded("5000.123456789012345678").value();
  EXPECT_EQ(D(kpis.realized_pnl().value()), cash_change);
  // (64000 - 64000.5) x 2 x 0.001 - the fees 0.0768006 (buy) and 0.0768 (sell)
  EXPECT_EQ(cash_change, D("-0.1546006"));
  EXPECT_EQ(kpis.closed_trades(), 1);
  EXPECT_EQ(fake_.OrderCount("live-key"), 3);
}

TEST_F(LiveE2e, AnUnansweredOrderRetriedWithItsClientOrderIdIsPlacedOnce) {
  auto server = Start(Config(fake_.base_url(), Live("l1")));
  ASSERT_TRUE(server->ok());
  ASSERT_TRUE(fake_.Fault("/api/v1/trade/order", "before_timeout", 1, "\"delay_ms\":1500"));
  v1::PlaceOrderResponse first, retry;
  grpc::Status unanswered =
      Place(*server, v1::SIDE_BUY, v1::ORDER_TYPE_MARKET, "1", "", "r1", &first);
  EXPECT_EQ(unanswered.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(unanswered.error_message(), HasSubstr("retry with the same client order id"));
  ASSERT_TRUE(fake_.Fault("/api/v1/trade/order", "timeout", 1, "\"delay_ms\":1500"));
  // The retry looks first (not there), sends, gets no answer again, looks
  // again and finds it this time.
  grpc::Status second = Place(*server, v1::SIDE_BUY, v1::ORDER_TYPE_MARKET, "1", "", "r1", &retry);
  if (!second.ok()) {
    EXPECT_EQ(second.error_code(), grpc::StatusCode::UNAVAILABLE);
    second = Place(*server, v1::SIDE_BUY, v1::ORDER_TYPE_MARKET, "1", "", "r1", &retry);
  }
  ASSERT_TRUE(second.ok()) << second.error_message();
  EXPECT_EQ(retry.order().status(), v1::ORDER_STATUS_FILLED);
  EXPECT_EQ(fake_.OrderCount("live-key"), 1);
  ASSERT_TRUE(Place(*server, v1::SIDE_BUY, v1::ORDER_TYPE_MARKET, "1", "", "r1", &retry).ok());
  EXPECT_TRUE(retry.replayed());
  EXPECT_EQ(fake_.OrderCount("live-key"), 1);
}

TEST_F(LiveE2e, ARejectionInsideACodeZeroAnswerIsFailedPreconditionWithBlofinsCode) {
  ASSERT_TRUE(fake_.AddAccount("live-key", "live-secret", "live-pass", "10"));
  ASSERT_TRUE(fake_.Control("settings", R"({"envelope":"success"})"));
  auto server = Start(Config(fake_.base_url(), Live("l1")));
  ASSERT_TRUE(server->ok());
  v1::PlaceOrderResponse resp;
  grpc::Status refused = Place(*server, v1::SIDE_BUY, v1::ORDER_TYPE_MARKET, "10", "", "", &resp);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(refused.error_message(), HasSubstr("BloFin 103003"));
  grpc::ClientContext c;
  Deadline(c);
  v1::ListOrdersRequest req;
  req.set_strategy_id("l1");
  v1::ListOrdersResponse orders;
  ASSERT_TRUE(v1::ExchangeControl::NewStub(server->channel())->ListOrders(&c, req, &orders).ok());
  EXPECT_EQ(orders.orders_size(), 0);  // nothing is stored as open
}

TEST_F(LiveE2e, AHedgeModeAccountIsRefusedWithHowToSwitch) {
  // Another program switched the account to hedge mode (index.md "Set
  // Position Mode"), through BloFin's documented endpoint.
  blofin::RestOptions o;
  o.base_url = fake_.base_url();
  blofin::RestClient other(o, {Secret("live-key"), Secret("live-secret"), Secret("live-pass")},
                           &SystemClock());
  ASSERT_TRUE(other.Post("/api/v1/account/set-position-mode",
                         R"({"positionMode":"long_short_mode"})", false)
                  .ok());
  auto server = Start(Config(fake_.base_url(), Live("l1")));
  ASSERT_TRUE(server->ok());
  v1::Strategy l1 = Strategy(*server, "l1");
  EXPECT_EQ(l1.status(), v1::STRATEGY_STATUS_FAILED);
  EXPECT_THAT(l1.status_message(), HasSubstr("long/short (hedge) position mode"));
  EXPECT_THAT(l1.status_message(), HasSubstr("net_mode"));
  EXPECT_EQ(fake_.OrderCount("live-key"), 0);
}

TEST_F(LiveE2e, ASecondLiveStrategyOnTheSameKeyIsRefusedNamingTheFirst) {
  auto server = Start(Config(fake_.base_url(), Live("l1") + Live("l2")));
  ASSERT_TRUE(server->ok());
  EXPECT_EQ(Strategy(*server, "l1").status(), v1::STRATEGY_STATUS_RUNNING);
  v1::Strategy l2 = Strategy(*server, "l2");
  EXPECT_EQ(l2.status(), v1::STRATEGY_STATUS_FAILED);
  EXPECT_THAT(l2.status_message(), HasSubstr("already used by live strategy l1"));
  EXPECT_THAT(l2.status_message(), HasSubstr("sub-account"));
}

TEST_F(LiveE2e, ALiveStrategyWhoseExchangeIsUnreachableAtStartStartsWhenItIsBack) {
  const int port = std::stoi(fake_.base_url().substr(fake_.base_url().rfind(':') + 1));
  TcpProxy proxy(port);
  proxy.Cut();
  auto server = Start(Config(absl::StrCat("http://127.0.0.1:", proxy.port()), Live("l1")));
  ASSERT_TRUE(server->ok());
  v1::Strategy failed = Strategy(*server, "l1");
  EXPECT_EQ(failed.status(), v1::STRATEGY_STATUS_FAILED);
  EXPECT_THAT(failed.status_message(), HasSubstr("tried again in"));
  proxy.Resume();
  v1::Strategy now;
  for (int i = 0; i < 100; ++i) {  // back-off 1 s, 2 s, 4 s: within 10 s
    now = Strategy(*server, "l1");
    if (now.status() == v1::STRATEGY_STATUS_RUNNING) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(now.status(), v1::STRATEGY_STATUS_RUNNING) << now.status_message();
  v1::PlaceOrderResponse resp;
  EXPECT_TRUE(Place(*server, v1::SIDE_BUY, v1::ORDER_TYPE_MARKET, "1", "", "", &resp).ok());
}

}  // namespace
}  // namespace xctl
