// A live strategy following BloFin's private WebSocket end to end: the real
// xctld (gRPC on loopback) trades on the local BloFin server
// (tests/fake_blofin; its /ws/private is fake_ws_private.py, index.md
// "WebSocket" > "WS Order Channel", "WS Positions Channel", "WS Account
// Channel") with `blofin.ws_private_url` set. Prices come from a second fake
// over `blofin-ws` whose tickers never change, so after start-up no price
// tick reaches exchange control: what the gRPC client sees of a fill came
// from the push (docs/control.md, "Pushed results"). The fake fills a
// resting order when its own tickers cross it (POST /_control/tickers).
//
// Then every WebSocket fault the fake injects: a connection dropped with a
// fill made while it is down (found by the REST refresh on reconnect), every
// push sent twice, a malformed frame, a stalled connection (found by the
// keep-alive, blofin.ws_ping_after_ms): no fill lost or recorded twice (the
// store's fills against the fake's trades, open positions against the net of
// the fills) and no stale pair once reconnected.
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "server/common/status_macros.h"
#include "server/store/store.h"
#include "tests/server/running_xctld.h"
#include "tests/server/stored_orders.h"
#include "tests/support/fake_blofin.h"
#include "tests/support/tcp_proxy.h"
#include "xctl/v1/exchange_control.grpc.pb.h"
#include "xctl/v1/prices.grpc.pb.h"

namespace xctl {
namespace {

using ::xctl::testing::FakeBlofin;
using ::xctl::testing::MakeTempDir;
using ::xctl::testing::NetByStrategySymbol;
using ::xctl::testing::RunningXctld;
using ::xctl::testing::TcpProxy;
using ::xctl::testing::WaitFor;

template <typename Ctx>
void Deadline(Ctx& c, int seconds = 15) {
  c.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
}

Decimal D(absl::string_view s) { return Decimal::Parse(s).value(); }

// The private REST reads that poll an order (index.md "GET Order Detail",
// "GET Active Orders"); a push reads only the order's new fills ("GET Trade
// History").
constexpr const char* kOrderPolls[] = {"GET /api/v1/trade/order-detail",
                                       "GET /api/v1/trade/orders-pending"};

// A StreamPositions call of strategy l1.
class PositionStream {
 public:
  explicit PositionStream(RunningXctld& s) {
    Deadline(ctx_, 25);
    v1::StreamPositionsRequest req;
    req.set_strategy_id("l1");
    reader_ = v1::ExchangeControl::NewStub(s.channel())->StreamPositions(&ctx_, req);
    v1::StreamPositionsResponse first;
    snapshot_ok_ = reader_->Read(&first) && first.has_snapshot();
  }
  ~PositionStream() { ctx_.TryCancel(); }
  bool snapshot_ok() const { return snapshot_ok_; }
  // Reads until an update shows l1's open BTC-USDT row at `quantity`.
  bool AwaitOpen(const std::string& quantity) {
    v1::StreamPositionsResponse m;
    while (reader_->Read(&m)) {
      if (!m.has_update()) continue;
      for (const v1::Position& p : m.update().positions()) {
        if (p.symbol() == "BTC-USDT" && p.status() == v1::POSITION_STATUS_OPEN &&
            D(p.quantity().value()) == D(quantity)) {
          return true;
        }
      }
    }
    return false;
  }

 private:
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<v1::StreamPositionsResponse>> reader_;
  bool snapshot_ok_ = false;
};

class LiveWsE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(exchange_.ok());
    ASSERT_TRUE(prices_.ok());
    // New connections as fast as xctld's back-off makes them (BloFin allows
    // one a second per IP, index.md "Connection Limits"; the two fakes share
    // the loopback address).
    ASSERT_TRUE(exchange_.WsControl(R"({"connect_interval_ms":0})"));
    ASSERT_TRUE(prices_.WsControl(R"({"connect_interval_ms":0})"));
    ASSERT_TRUE(exchange_.AddAccount("live-key", "live-secret", "live-pass", "10000"));
    dir_ = MakeTempDir("live-ws-e2e");
  }
  // A failure shows what xctld logged.
  void TearDown() override {
    if (HasFailure() && server_) {
      std::fprintf(stderr, "xctld's log:\n%s\n", server_->process().Stderr().c_str());
    }
  }

  // `ws_private_url` empty: the exchange fake's own.
  RunningXctld& Start(std::string ws_private_url = "") {
    if (ws_private_url.empty()) ws_private_url = exchange_.ws_private_url();
    const std::string path = dir_ + "/xctl.yaml";
    std::ofstream(path) << "price:\n  source: blofin-ws\n  blofin_url: " << prices_.base_url()
                        << "\n  blofin_ws_url: " << prices_.ws_url()
                        << "\n  pairs: [BTC-USDT]\n  stale_after_intervals: 5\n"
                        << "blofin:\n  url: " << exchange_.base_url()
                        << "\n  ws_private_url: " << ws_private_url
                        << "\n  ws_ping_after_ms: 1000\n  timeout_ms: 2000\n"
                        << "  requests_per_minute: 100000\nstrategies:\n"
                        << "  - id: l1\n    type: external\n    pairs: [BTC-USDT]\n"
                        << "    leverage: \"3\"\n    credentials_env: {api_key: LIVE_KEY, "
                        << "api_secret: LIVE_SECRET, passphrase: LIVE_PASS}\n";
    // Prices every second (the staleness limit 5 s): later than RunningXctld's
    // --price-interval-ms=100.
    server_ = std::make_unique<RunningXctld>(
        std::vector<std::string>{"--config=" + path, "--price-interval-ms=1000"}, dir_,
        std::vector<std::string>{"LIVE_KEY=live-key", "LIVE_SECRET=live-secret",
                                 "LIVE_PASS=live-pass"});
    EXPECT_TRUE(server_->ok()) << server_->process().Stderr();
    return *server_;
  }
  // Logged in and subscribed `logins` times (the fake's count).
  bool Subscribed(int logins) {
    return WaitFor([&] {
      rapidjson::Document doc;
      doc.Parse(exchange_.ControlGet("ws").c_str());
      if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("private")) return false;
      const auto& p = doc["private"];
      int channels = 0;
      for (const auto& ch : p["subscribed"].GetObject()) channels += ch.value.GetInt();
      return p["logins"].GetInt() == logins && channels == 3;
    });
  }

  grpc::Status RestingBuy(RunningXctld& s, const std::string& coid, const std::string& price) {
    grpc::ClientContext c;
    Deadline(c);
    v1::PlaceOrderRequest req;
    req.set_strategy_id("l1");
    req.set_symbol("BTC-USDT");
    req.set_side(v1::SIDE_BUY);
    req.set_type(v1::ORDER_TYPE_LIMIT);
    req.mutable_quantity()->set_value("1");
    req.mutable_price()->set_value(price);
    req.set_client_order_id(coid);
    v1::PlaceOrderResponse resp;
    grpc::Status st = v1::ExchangeControl::NewStub(s.channel())->PlaceOrder(&c, req, &resp);
    if (st.ok()) EXPECT_EQ(resp.order().status(), v1::ORDER_STATUS_OPEN);
    return st;
  }
  // The exchange fake's asks at `ask` (its own tickers, not xctld's prices):
  // resting buys at or above it fill as maker.
  bool CrossAt(const std::string& ask) {
    const std::string bid = (D(ask) - D("1")).ToString();
    return exchange_.SetTickers(absl::StrCat(R"({"BTC-USDT":{"bid":")", bid, R"(","ask":")",
                                             ask, R"(","last":")", ask, R"("}})"));
  }
  int OrderPolls() {
    int n = 0;
    for (const char* path : kOrderPolls) n += exchange_.Requests(path);
    return n;
  }
  v1::Tick Price(RunningXctld& s) {
    grpc::ClientContext c;
    Deadline(c);
    v1::GetPriceRequest req;
    req.set_pair("BTC-USDT");
    v1::GetPriceResponse resp;
    EXPECT_TRUE(v1::PriceFeed::NewStub(s.channel())->GetPrice(&c, req, &resp).ok());
    return resp.tick();
  }
  // The fake's trade ids of the account ("GET Trade History"'s tradeId).
  std::set<std::string> ExchangeTrades() {
    rapidjson::Document doc;
    doc.Parse(exchange_.ControlGet("accounts/state?apiKey=live-key").c_str());
    std::set<std::string> ids;
    if (doc.HasParseError() || !doc.HasMember("fills")) return ids;
    for (const auto& f : doc["fills"].GetArray()) ids.insert(f["tradeId"].GetString());
    return ids;
  }
  // Stops xctld, then checks its store: every trade of the fake recorded
  // exactly once, and the open positions seen over gRPC before the stop
  // equal the net of those fills.
  void ExpectNoFillLostOrDoubled(size_t trades) {
    RunningXctld* server = server_.get();
    NetByStrategySymbol open;
    {
      grpc::ClientContext c;
      Deadline(c);
      v1::ListPositionsRequest req;
      req.set_strategy_id("l1");
      req.set_status(v1::POSITION_STATUS_OPEN);
      v1::ListPositionsResponse resp;
      ASSERT_TRUE(v1::ExchangeControl::NewStub(server->channel())->ListPositions(&c, req, &resp)
                      .ok());
      for (const v1::Position& p : resp.positions()) testing::AddOpenRow(p, &open);
    }
    const std::optional<int> exit_code = server->Stop();
    ASSERT_TRUE(exit_code.has_value());
    EXPECT_EQ(*exit_code, 0);
    auto store = Store::Open({.url = "sqlite:" + dir_ + "/xctl.db"});
    ASSERT_TRUE(store.ok()) << store.status();
    std::vector<Fill> fills;
    ASSERT_TRUE((*store)->Read([&](Tx& tx) -> absl::Status {
      XCTL_ASSIGN_OR_RETURN(fills, tx.fills().ListByStrategy("l1"));
      return absl::OkStatus();
    }).ok());
    std::multiset<std::string> recorded;
    NetByStrategySymbol net;
    for (const Fill& f : fills) {
      recorded.insert(f.exchange_fill_id);
      net[{f.strategy_id, f.symbol}] += f.side == Side::kBuy ? f.quantity : -f.quantity;
    }
    const std::set<std::string> traded = ExchangeTrades();
    EXPECT_EQ(traded.size(), trades);
    EXPECT_EQ(recorded, std::multiset<std::string>(traded.begin(), traded.end()));
    testing::ExpectOpenEqualsNet(open, net);
  }

  FakeBlofin exchange_{/*websocket=*/true};
  FakeBlofin prices_{/*websocket=*/true};
  std::string dir_;
  std::unique_ptr<RunningXctld> server_;
};

// The fill of a resting order reaches the gRPC stream with no price tick
// (the pair's sequence is unchanged) and no REST poll of the order.
TEST_F(LiveWsE2e, APushedFillReachesTheClientWithoutATickOrAnOrderPoll) {
  RunningXctld* server = &Start();
  ASSERT_TRUE(server->ok());
  ASSERT_TRUE(Subscribed(1));
  // Both reconciles done (the strategy's start and the connection's gap
  // refresh: one "GET Active Orders" each), so nothing reads orders later.
  ASSERT_TRUE(WaitFor([&] { return exchange_.Requests(kOrderPolls[1]) >= 2; }));
  PositionStream stream(*server);
  ASSERT_TRUE(stream.snapshot_ok());
  ASSERT_TRUE(RestingBuy(*server, "w1", "63000").ok());
  const uint64_t sequence = Price(*server).sequence();
  const int polls = OrderPolls();
  ASSERT_TRUE(CrossAt("62999"));
  EXPECT_TRUE(stream.AwaitOpen("1"));
  const v1::Tick after = Price(*server);
  EXPECT_EQ(after.sequence(), sequence) << "a price tick meanwhile: " << after.ShortDebugString();
  EXPECT_EQ(OrderPolls(), polls) << "order-detail " << exchange_.Requests(kOrderPolls[0])
                                 << ", orders-pending " << exchange_.Requests(kOrderPolls[1]);
  testing::StoredOrders stored;
  testing::ReadStoredOrders(*v1::ExchangeControl::NewStub(server->channel()), &stored);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  EXPECT_EQ(stored.by_key.at("l1/w1").status(), v1::ORDER_STATUS_FILLED);
  ExpectNoFillLostOrDoubled(1);
}

// The private connection cut (a proxy in front of the fake's WebSocket; REST
// stays up), a fill made while it is down, the connection back: the
// reconnect's REST refresh records the fill once and it is published. The
// public connection dropped too: its pair is not stale once it is back.
TEST_F(LiveWsE2e, AFillMadeWhileDisconnectedIsFoundOnReconnect) {
  const std::string url = exchange_.ws_private_url();
  const std::string hostport = url.substr(5, url.rfind("/ws/") - 5);  // ws://HOST:PORT/ws/..
  TcpProxy proxy(std::stoi(hostport.substr(hostport.rfind(':') + 1)));
  RunningXctld* server = &Start(absl::StrCat("ws://127.0.0.1:", proxy.port(), "/ws/private"));
  ASSERT_TRUE(server->ok());
  ASSERT_TRUE(Subscribed(1));
  PositionStream stream(*server);
  ASSERT_TRUE(stream.snapshot_ok());
  ASSERT_TRUE(RestingBuy(*server, "d1", "63000").ok());
  proxy.Cut();
  ASSERT_TRUE(WaitFor([&] { return exchange_.WsStat("connections") == 0; }));
  ASSERT_TRUE(prices_.WsControl(R"({"drop":true})"));
  ASSERT_TRUE(CrossAt("62999"));  // filled, pushed to no one
  proxy.Resume();
  ASSERT_TRUE(Subscribed(2));
  EXPECT_TRUE(stream.AwaitOpen("1"));
  ASSERT_TRUE(WaitFor([&] { return prices_.WsStat("connections") == 1; }));
  EXPECT_FALSE(Price(*server).stale());
  // A later fill is pushed on the new connection.
  ASSERT_TRUE(RestingBuy(*server, "d2", "62000").ok());
  ASSERT_TRUE(CrossAt("61999"));
  EXPECT_TRUE(stream.AwaitOpen("2"));
  EXPECT_FALSE(Price(*server).stale());
  ExpectNoFillLostOrDoubled(2);
}

// Every push sent twice, then a malformed frame: each fill recorded once,
// the connection kept (one login).
TEST_F(LiveWsE2e, DuplicatedPushesAndAMalformedFrameChangeNothingTwice) {
  ASSERT_TRUE(exchange_.WsControl(R"({"duplicate_pushes":true})"));
  RunningXctld* server = &Start();
  ASSERT_TRUE(server->ok());
  ASSERT_TRUE(Subscribed(1));
  PositionStream stream(*server);
  ASSERT_TRUE(stream.snapshot_ok());
  ASSERT_TRUE(RestingBuy(*server, "u1", "63000").ok());
  ASSERT_TRUE(CrossAt("62999"));
  EXPECT_TRUE(stream.AwaitOpen("1"));
  ASSERT_TRUE(exchange_.WsControl(
      R"({"malformed":"{\"arg\":{\"channel\":\"orders\"},\"data\":[{}]}"})"));
  ASSERT_TRUE(RestingBuy(*server, "u2", "62000").ok());
  ASSERT_TRUE(CrossAt("61999"));
  EXPECT_TRUE(stream.AwaitOpen("2"));
  EXPECT_TRUE(Subscribed(1));  // never reconnected
  EXPECT_FALSE(Price(*server).stale());
  ExpectNoFillLostOrDoubled(2);
}

// The fake stops answering (no 'pong', no push): the keep-alive closes the
// connection after 2 x ws_ping_after_ms; a fill made meanwhile is found by
// the reconnect.
TEST_F(LiveWsE2e, AStalledConnectionIsMadeAgainAndTheFillMeanwhileFound) {
  RunningXctld* server = &Start();
  ASSERT_TRUE(server->ok());
  ASSERT_TRUE(Subscribed(1));
  PositionStream stream(*server);
  ASSERT_TRUE(stream.snapshot_ok());
  ASSERT_TRUE(RestingBuy(*server, "s1", "63000").ok());
  ASSERT_TRUE(exchange_.WsControl(R"({"stall":true})"));
  ASSERT_TRUE(CrossAt("62999"));  // filled; the stalled fake pushes nothing
  // xctld gave up on the silent connection and closed it.
  ASSERT_TRUE(WaitFor([&] { return exchange_.WsStat("connections") == 0; }));
  ASSERT_TRUE(exchange_.WsControl(R"({"stall":false})"));
  ASSERT_TRUE(Subscribed(2));
  EXPECT_TRUE(stream.AwaitOpen("1"));
  EXPECT_FALSE(Price(*server).stale());
  ExpectNoFillLostOrDoubled(1);
}

}  // namespace
}  // namespace xctl
