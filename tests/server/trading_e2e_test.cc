// End to end through the real binaries: xctld with strategies from its config
// and from the API, paper and live (against the local fake BloFin server),
// over gRPC on loopback, and the xctl CLI. Covers the strategy manager and
// exchange control issue's scenarios: isolation of strategies, KPIs per type,
// switching paper <-> live over the API, restart, bad signals, the demo.
#include <fstream>
#include <memory>
#include <set>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/running_xctld.h"
#include "tests/support/fake_blofin.h"
#include "xctl/v1/exchange_control.grpc.pb.h"
#include "xctl/v1/strategy_manager.grpc.pb.h"

namespace xctl {
namespace {

using ::testing::HasSubstr;
using ::xctl::testing::BinaryPath;
using ::xctl::testing::FakeBlofin;
using ::xctl::testing::MakeTempDir;
using ::xctl::testing::RunningXctld;
using ::xctl::testing::SourcePath;
using ::xctl::testing::Subprocess;

template <typename Ctx>
void Deadline(Ctx& c) {
  c.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
}

class TradingE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fake_.ok());
    ASSERT_TRUE(fake_.AddAccount("live-key", "live-secret", "live-pass"));
    dir_ = MakeTempDir("e2e");
  }

  // A config on the fake's prices and trading API; `strategies` is YAML.
  std::string Config(const std::string& strategies, const std::string& top = "") {
    std::string path = dir_ + "/xctl.yaml";
    std::ofstream(path) << top << "price:\n  source: blofin\n  blofin_url: " << fake_.base_url()
                        << "\n  pairs: [BTC-USDT]\n  interval_ms: 100\nblofin:\n  url: "
                        << fake_.base_url()
                        // Polls faster than BloFin's 500 a minute allows: a local fake.
                        << "\n  requests_per_minute: 100000\nstrategies:\n"
                        << strategies;
    return path;
  }

  std::unique_ptr<RunningXctld> Start(const std::string& config,
                                      std::vector<std::string> env = {}) {
    env.push_back("LIVE_KEY=live-key");
    env.push_back("LIVE_SECRET=live-secret");
    env.push_back("LIVE_PASS=live-pass");
    env.push_back("TV_SECRET=s3cret");
    auto server = std::make_unique<RunningXctld>(
        std::vector<std::string>{"--config=" + config}, dir_, env);
    EXPECT_TRUE(server->ok()) << server->process().Stderr();
    return server;
  }

  grpc::Status Buy(RunningXctld& s, const std::string& id, const std::string& qty,
                   v1::PlaceOrderResponse* resp) {
    grpc::ClientContext c;
    Deadline(c);
    v1::PlaceOrderRequest req;
    req.set_strategy_id(id);
    req.set_symbol("BTC-USDT");
    req.set_side(v1::SIDE_BUY);
    req.set_type(v1::ORDER_TYPE_MARKET);
    req.mutable_quantity()->set_value(qty);
    return v1::ExchangeControl::NewStub(s.channel())->PlaceOrder(&c, req, resp);
  }

  v1::ListPositionsResponse Positions(RunningXctld& s, const std::string& id,
                                      v1::PositionStatus status = v1::POSITION_STATUS_OPEN) {
    grpc::ClientContext c;
    Deadline(c);
    v1::ListPositionsRequest req;
    req.set_strategy_id(id);
    req.set_status(status);
    v1::ListPositionsResponse resp;
    EXPECT_TRUE(v1::ExchangeControl::NewStub(s.channel())->ListPositions(&c, req, &resp).ok());
    return resp;
  }

  grpc::Status Signal(RunningXctld& s, v1::SubmitSignalRequest req,
                      v1::SubmitSignalResponse* resp) {
    grpc::ClientContext c;
    Deadline(c);
    return v1::StrategyManager::NewStub(s.channel())->SubmitSignal(&c, req, resp);
  }

  FakeBlofin fake_;
  std::string dir_;
};

constexpr char kThree[] = R"(  - {id: p1, type: external, pairs: [BTC-USDT]}
  - {id: p2, type: tradingview, pairs: [BTC-USDT], signal_secret_env: TV_SECRET}
  - id: l1
    type: external
    pairs: [BTC-USDT]
    leverage: "3"
    credentials_env: {api_key: LIVE_KEY, api_secret: LIVE_SECRET, passphrase: LIVE_PASS}
)";

TEST_F(TradingE2e, TwoPaperAndOneLiveStrategyEachSeeTheirOwnAndKpisAggregateByType) {
  auto server = Start(Config(kThree));
  ASSERT_TRUE(server->ok());
  v1::PlaceOrderResponse order;
  ASSERT_TRUE(Buy(*server, "p1", "1", &order).ok());
  EXPECT_EQ(order.order().mode(), v1::TRADING_MODE_PAPER);
  ASSERT_TRUE(Buy(*server, "l1", "1", &order).ok());
  EXPECT_EQ(order.order().mode(), v1::TRADING_MODE_LIVE);
  v1::SubmitSignalRequest signal;
  signal.set_strategy_id("p2");
  signal.set_action("BUY");
  signal.set_symbol("BTC-USDT");
  signal.set_quantity("2");
  signal.set_secret("s3cret");
  v1::SubmitSignalResponse signalled;
  ASSERT_TRUE(Signal(*server, signal, &signalled).ok());
  EXPECT_EQ(signalled.order().status(), v1::ORDER_STATUS_FILLED);

  for (auto [id, qty, mode] : {std::tuple{"p1", "1", v1::TRADING_MODE_PAPER},
                               {"p2", "2", v1::TRADING_MODE_PAPER},
                               {"l1", "1", v1::TRADING_MODE_LIVE}}) {
    v1::ListPositionsResponse mine = Positions(*server, id);
    ASSERT_EQ(mine.positions_size(), 1) << id;
    EXPECT_EQ(mine.positions(0).strategy_id(), id);
    EXPECT_EQ(mine.positions(0).quantity().value(), qty);
    EXPECT_EQ(mine.positions(0).mode(), mode);
  }
  EXPECT_EQ(fake_.OrderCount("live-key"), 1);

  grpc::ClientContext c;
  Deadline(c);
  v1::GetKpisRequest req;
  req.set_strategy_type("external");
  v1::GetKpisResponse kpis;
  ASSERT_TRUE(v1::ExchangeControl::NewStub(server->channel())->GetKpis(&c, req, &kpis).ok());
  ASSERT_EQ(kpis.strategies_size(), 2);
  EXPECT_EQ(kpis.strategies(0).scope().strategy_id(), "l1");
  EXPECT_EQ(kpis.strategies(1).scope().strategy_id(), "p1");
  EXPECT_EQ(kpis.total().open_positions(), 2);
  EXPECT_EQ(kpis.total().fees_paid().value(), "0.0768006");  // 2 x 64000.5 x 0.001 x 0.06%
  EXPECT_EQ(kpis.total().starting_balance().value(), "20000");
}

// Order types and TP/SL over gRPC, the same on paper (p1) and live (l1):
// a post-only order that would take is canceled, one that would not rests;
// a market order with take-profit and stop-loss opens a position that
// carries them, and when BloFin's last price reaches the take-profit the
// position is closed (paper: on xctld's tick; live: by BloFin, recorded by
// xctld) with a reduce-only order and its fill.
TEST_F(TradingE2e, PostOnlyAndTpSlBehaveTheSameOnPaperAndLive) {
  auto server = Start(Config(kThree));
  ASSERT_TRUE(server->ok());
  auto stub = v1::ExchangeControl::NewStub(server->channel());
  auto place = [&](const std::string& id, v1::OrderType type, const std::string& price,
                   bool tpsl, v1::PlaceOrderResponse* resp) {
    grpc::ClientContext c;
    Deadline(c);
    v1::PlaceOrderRequest req;
    req.set_strategy_id(id);
    req.set_symbol("BTC-USDT");
    req.set_side(v1::SIDE_BUY);
    req.set_type(type);
    req.mutable_quantity()->set_value("1");
    if (!price.empty()) req.mutable_price()->set_value(price);
    if (tpsl) {
      req.mutable_take_profit()->mutable_trigger_price()->set_value("64100");
      req.mutable_stop_loss()->mutable_trigger_price()->set_value("63000");
      req.mutable_stop_loss()->mutable_order_price()->set_value("62990");
    }
    return stub->PlaceOrder(&c, req, resp);
  };
  for (const std::string id : {"p1", "l1"}) {
    v1::PlaceOrderResponse taking, resting, opened;
    ASSERT_TRUE(place(id, v1::ORDER_TYPE_POST_ONLY, "64100", false, &taking).ok()) << id;
    EXPECT_EQ(taking.order().type(), v1::ORDER_TYPE_POST_ONLY) << id;
    EXPECT_EQ(taking.order().status(), v1::ORDER_STATUS_CANCELED) << id;
    EXPECT_EQ(taking.fills_size(), 0) << id;
    ASSERT_TRUE(place(id, v1::ORDER_TYPE_POST_ONLY, "63500", false, &resting).ok()) << id;
    EXPECT_EQ(resting.order().status(), v1::ORDER_STATUS_OPEN) << id;
    grpc::Status st = place(id, v1::ORDER_TYPE_MARKET, "", true, &opened);
    ASSERT_TRUE(st.ok()) << id << ": " << st.error_message();
    EXPECT_EQ(opened.order().status(), v1::ORDER_STATUS_FILLED) << id;
    EXPECT_EQ(opened.order().take_profit().trigger_price().value(), "64100") << id;
    EXPECT_FALSE(opened.order().take_profit().has_order_price()) << id;
    EXPECT_EQ(opened.order().stop_loss().order_price().value(), "62990") << id;
    v1::ListPositionsResponse open = Positions(*server, id);
    ASSERT_EQ(open.positions_size(), 1) << id;
    EXPECT_EQ(open.positions(0).take_profit().trigger_price().value(), "64100") << id;
  }
  // Bad requests: an unknown type number, an order price without its trigger.
  v1::PlaceOrderResponse refused;
  EXPECT_EQ(place("p1", static_cast<v1::OrderType>(99), "64000", false, &refused).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  {
    grpc::ClientContext c;
    Deadline(c);
    v1::PlaceOrderRequest req;
    req.set_strategy_id("p1");
    req.set_symbol("BTC-USDT");
    req.set_side(v1::SIDE_BUY);
    req.set_type(v1::ORDER_TYPE_MARKET);
    req.mutable_quantity()->set_value("1");
    req.mutable_take_profit()->mutable_order_price()->set_value("64200");
    grpc::Status st = stub->PlaceOrder(&c, req, &refused);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(st.error_message(), HasSubstr("take_profit.trigger_price"));
  }

  ASSERT_TRUE(fake_.SetTickers(R"({"BTC-USDT":{"bid":"64099.9","ask":"64100","last":"64100"}})"));
  const absl::Time until = absl::Now() + absl::Seconds(30);
  while (absl::Now() < until && (Positions(*server, "p1").positions_size() > 0 ||
                                 Positions(*server, "l1").positions_size() > 0)) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  for (const std::string id : {"p1", "l1"}) {
    EXPECT_EQ(Positions(*server, id).positions_size(), 0) << id << " still open";
    v1::ListPositionsResponse closed = Positions(*server, id, v1::POSITION_STATUS_CLOSED);
    ASSERT_EQ(closed.positions_size(), 1) << id;
    EXPECT_EQ(closed.positions(0).close_price().value(), "64099.9") << id;
    EXPECT_FALSE(closed.positions(0).has_take_profit()) << id;
    grpc::ClientContext c;
    Deadline(c);
    v1::ListOrdersRequest req;
    req.set_strategy_id(id);
    v1::ListOrdersResponse orders;
    ASSERT_TRUE(stub->ListOrders(&c, req, &orders).ok());
    ASSERT_GE(orders.orders_size(), 4) << id;
    const v1::Order& close = orders.orders(0);  // newest first
    EXPECT_TRUE(close.reduce_only()) << id;
    EXPECT_EQ(close.side(), v1::SIDE_SELL) << id;
    EXPECT_EQ(close.status(), v1::ORDER_STATUS_FILLED) << id;
    EXPECT_EQ(close.filled_quantity().value(), "1") << id;
  }
}

TEST_F(TradingE2e, AStrategySwitchesFromPaperToLiveAndBackOverTheApi) {
  auto server = Start(Config("  []\n"));
  auto manager = v1::StrategyManager::NewStub(server->channel());
  {
    grpc::ClientContext c;
    Deadline(c);
    v1::CreateStrategyRequest req;
    req.mutable_strategy()->set_id("sw");
    req.mutable_strategy()->set_type("external");
    req.mutable_strategy()->add_pairs("BTC-USDT");
    req.set_start(true);
    v1::CreateStrategyResponse resp;
    ASSERT_TRUE(manager->CreateStrategy(&c, req, &resp).ok());
    EXPECT_EQ(resp.strategy().mode(), v1::TRADING_MODE_PAPER);
  }
  v1::PlaceOrderResponse order;
  ASSERT_TRUE(Buy(*server, "sw", "1", &order).ok());
  EXPECT_EQ(order.order().mode(), v1::TRADING_MODE_PAPER);
  auto set_credentials = [&](bool set) {
    grpc::ClientContext c;
    Deadline(c);
    v1::UpdateStrategyRequest req;
    req.mutable_strategy()->set_id("sw");
    if (set) {
      req.mutable_credentials()->set_api_key("live-key");
      req.mutable_credentials()->set_api_secret("live-secret");
      req.mutable_credentials()->set_passphrase("live-pass");
    } else {
      req.set_clear_credentials(true);
    }
    v1::UpdateStrategyResponse resp;
    EXPECT_TRUE(manager->UpdateStrategy(&c, req, &resp).ok());
    EXPECT_FALSE(resp.DebugString().find("live-secret") != std::string::npos);
    return resp.strategy().mode();
  };
  EXPECT_EQ(set_credentials(true), v1::TRADING_MODE_LIVE);
  // The paper position keeps its mode; it is closed on paper.
  {
    grpc::ClientContext c;
    Deadline(c);
    v1::ClosePositionRequest req;
    req.set_strategy_id("sw");
    req.set_symbol("BTC-USDT");
    v1::ClosePositionResponse resp;
    ASSERT_TRUE(v1::ExchangeControl::NewStub(server->channel())->ClosePosition(&c, req, &resp).ok());
    EXPECT_EQ(resp.order().mode(), v1::TRADING_MODE_PAPER);
  }
  ASSERT_TRUE(Buy(*server, "sw", "1", &order).ok());
  EXPECT_EQ(order.order().mode(), v1::TRADING_MODE_LIVE);
  EXPECT_EQ(fake_.OrderCount("live-key"), 1);
  EXPECT_EQ(set_credentials(false), v1::TRADING_MODE_PAPER);
  EXPECT_EQ(Positions(*server, "sw").positions(0).mode(), v1::TRADING_MODE_LIVE);
}

// Secrets never reach the logs, the database file or an API response: a full
// run with a live strategy from the config and one switched to live over the
// API, with debug logging, then every byte of the logs and the database is
// searched for the secret values.
TEST_F(TradingE2e, SecretsAppearNowhereInLogsTheDatabaseOrResponses) {
  ASSERT_TRUE(fake_.AddAccount("api-key-7f3a", "api-secret-9c1e", "pass-phrase-4d2b"));
  // A second account: one BloFin account per live strategy.
  ASSERT_TRUE(fake_.AddAccount("api-key-8b4c", "api-secret-2d7e", "pass-phrase-6a1f"));
  auto server = Start(Config(kThree, "log_level: debug\n"), {"LIVE_KEY=api-key-7f3a", "LIVE_SECRET=api-secret-9c1e",
                                       "LIVE_PASS=pass-phrase-4d2b"});
  ASSERT_TRUE(server->ok());
  v1::PlaceOrderResponse order;
  ASSERT_TRUE(Buy(*server, "l1", "1", &order).ok());
  ASSERT_EQ(fake_.OrderCount("api-key-7f3a"), 1);  // these credentials were used
  grpc::ClientContext c;
  Deadline(c);
  v1::UpdateStrategyRequest req;
  req.mutable_strategy()->set_id("p1");
  req.mutable_credentials()->set_api_key("api-key-8b4c");
  req.mutable_credentials()->set_api_secret("api-secret-2d7e");
  req.mutable_credentials()->set_passphrase("pass-phrase-6a1f");
  v1::UpdateStrategyResponse updated;
  auto manager = v1::StrategyManager::NewStub(server->channel());
  ASSERT_TRUE(manager->UpdateStrategy(&c, req, &updated).ok());
  EXPECT_TRUE(updated.strategy().has_credentials());
  grpc::ClientContext c2;
  Deadline(c2);
  v1::ListStrategiesResponse list;
  ASSERT_TRUE(manager->ListStrategies(&c2, {}, &list).ok());
  // A wrong secret makes BloFin refuse: the error must not echo it either.
  ASSERT_TRUE(fake_.AddAccount("api-key-8b4c", "other-secret", "pass-phrase-6a1f"));
  ASSERT_FALSE(Buy(*server, "p1", "1", &order).ok());
  ASSERT_EQ(server->Stop(), 0);

  std::string everything = list.DebugString() + updated.DebugString() +
                           server->process().Stdout() + server->process().Stderr() +
                           xctl::testing::ReadFile(dir_ + "/xctl.db");
  for (const char* wal : {"/xctl.db-wal", "/xctl.db-shm"}) {
    everything += xctl::testing::ReadFile(dir_ + wal);
  }
  EXPECT_GT(everything.size(), 10000u);  // the database was read
  for (const char* secret : {"api-key-7f3a", "api-secret-9c1e", "pass-phrase-4d2b", "api-key-8b4c",
                             "api-secret-2d7e", "pass-phrase-6a1f"}) {
    EXPECT_EQ(everything.find(secret), std::string::npos) << secret << " leaked";
  }
  // The signal secret is stored hashed, not as text.
  EXPECT_EQ(everything.find("s3cret"), std::string::npos);
}

TEST_F(TradingE2e, ARestartBringsBackStrategiesPositionsAndKpis) {
  const std::string config = Config(kThree);
  auto first = Start(config);
  v1::PlaceOrderResponse order;
  ASSERT_TRUE(Buy(*first, "p1", "2", &order).ok());
  ASSERT_TRUE(Buy(*first, "l1", "1", &order).ok());
  {
    grpc::ClientContext c;
    Deadline(c);
    v1::ClosePositionRequest req;
    req.set_strategy_id("p1");
    req.set_symbol("BTC-USDT");
    req.mutable_quantity()->set_value("1");
    v1::ClosePositionResponse resp;
    ASSERT_TRUE(v1::ExchangeControl::NewStub(first->channel())->ClosePosition(&c, req, &resp).ok());
  }
  auto kpis = [](RunningXctld& s) {
    grpc::ClientContext c;
    Deadline(c);
    v1::GetKpisResponse resp;
    EXPECT_TRUE(v1::ExchangeControl::NewStub(s.channel())->GetKpis(&c, {}, &resp).ok());
    return resp;
  };
  v1::GetKpisResponse before = kpis(*first);
  ASSERT_EQ(first->Stop(), 0);

  auto second = Start(config);
  ASSERT_TRUE(second->ok());
  v1::GetKpisResponse after = kpis(*second);
  EXPECT_EQ(after.total().realized_pnl().value(), before.total().realized_pnl().value());
  EXPECT_EQ(after.total().fees_paid().value(), before.total().fees_paid().value());
  EXPECT_EQ(after.total().closed_trades(), 1);
  EXPECT_EQ(after.total().open_positions(), 2);
  EXPECT_EQ(Positions(*second, "p1").positions(0).quantity().value(), "1");
  EXPECT_EQ(Positions(*second, "l1").positions(0).mode(), v1::TRADING_MODE_LIVE);
  grpc::ClientContext c;
  Deadline(c);
  v1::ListStrategiesResponse list;
  ASSERT_TRUE(v1::StrategyManager::NewStub(second->channel())->ListStrategies(&c, {}, &list).ok());
  std::set<std::string> ids;
  for (const auto& s : list.strategies()) {
    ids.insert(s.id());
    EXPECT_EQ(s.status(), v1::STRATEGY_STATUS_RUNNING) << s.id() << " " << s.status_message();
    EXPECT_EQ(s.mode(), s.id() == "l1" ? v1::TRADING_MODE_LIVE : v1::TRADING_MODE_PAPER);
  }
  EXPECT_EQ(ids, (std::set<std::string>{"l1", "p1", "p2"}));
  // Only the order placed before the restart reached BloFin.
  EXPECT_EQ(fake_.OrderCount("live-key"), 1);
}

TEST_F(TradingE2e, BadSignalsGetClearErrorsAndChangeNothing) {
  auto server = Start(Config(kThree));
  v1::SubmitSignalRequest good;
  good.set_strategy_id("p2");
  good.set_action("buy");
  good.set_symbol("BTC-USDT");
  good.set_quantity("1");
  good.set_secret("s3cret");
  struct Case {
    std::function<void(v1::SubmitSignalRequest&)> change;
    grpc::StatusCode code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](auto& r) { r.set_secret("wrong"); }, grpc::StatusCode::PERMISSION_DENIED, "secret"},
      {[](auto& r) { r.set_strategy_id("nobody"); }, grpc::StatusCode::NOT_FOUND, "nobody"},
      {[](auto& r) { r.set_symbol("btc/usdt"); }, grpc::StatusCode::INVALID_ARGUMENT, "symbol"},
      {[](auto& r) { r.set_quantity("-1"); }, grpc::StatusCode::INVALID_ARGUMENT, "quantity"},
      {[](auto& r) { r.set_quantity("lots"); }, grpc::StatusCode::INVALID_ARGUMENT, "quantity"},
      {[](auto& r) { r.set_action("hold"); }, grpc::StatusCode::INVALID_ARGUMENT, "action"},
  };
  for (const Case& k : cases) {
    v1::SubmitSignalRequest req = good;
    k.change(req);
    v1::SubmitSignalResponse resp;
    grpc::Status st = Signal(*server, req, &resp);
    EXPECT_EQ(st.error_code(), k.code) << st.error_message();
    EXPECT_THAT(st.error_message(), HasSubstr(k.message));
  }
  grpc::ClientContext c;
  Deadline(c);
  v1::ListOrdersResponse orders;
  ASSERT_TRUE(v1::ExchangeControl::NewStub(server->channel())->ListOrders(&c, {}, &orders).ok());
  EXPECT_EQ(orders.orders_size(), 0);
}

// The README's demo: sma_cross trades by itself on simulated prices, the
// tradingview strategy trades on a signal sent with the documented CLI
// command, and StreamKpis shows both moving.
TEST(DemoE2e, SmaCrossTradesByItselfAndTradingviewOnACliSignal) {
  std::string dir = MakeTempDir("demo");
  RunningXctld server({"--config=" + SourcePath("server/config/demo.yaml"),
                       "--price-interval-ms=50"},
                      dir);
  ASSERT_TRUE(server.ok()) << server.process().Stderr();
  grpc::ClientContext stream_ctx;
  v1::StreamKpisRequest stream_req;
  auto kpis = v1::ExchangeControl::NewStub(server.channel())->StreamKpis(&stream_ctx, stream_req);
  v1::StreamKpisResponse msg;
  ASSERT_TRUE(kpis->Read(&msg));
  ASSERT_TRUE(msg.has_snapshot());

  Subprocess cli({BinaryPath("client/cli/xctl"), "--server=" + server.address(), "signal",
                  "--strategy", "tv-demo", "--action", "buy", "--symbol", "BTC-USDT",
                  "--quantity", "1"},
                 dir + "/cli");
  ASSERT_EQ(cli.Wait(absl::Seconds(30)), 0) << cli.Stderr();
  EXPECT_THAT(cli.Stdout(), HasSubstr("filled: buy 1 BTC-USDT paper"));

  std::set<std::string> moved;
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  while (absl::Now() < give_up && !(moved.count("sma-btc") && moved.count("tv-demo"))) {
    ASSERT_TRUE(kpis->Read(&msg));
    for (const v1::Kpis& k : msg.update().kpis()) {
      if (!k.scope().strategy_id().empty() && k.open_positions() + k.closed_trades() > 0) {
        moved.insert(k.scope().strategy_id());
      }
    }
  }
  EXPECT_TRUE(moved.count("sma-btc")) << "sma_cross never traded";
  EXPECT_TRUE(moved.count("tv-demo"));
  stream_ctx.TryCancel();
}

TEST(CliE2e, ErrorsExitNonZeroWithAMessage) {
  std::string dir = MakeTempDir("cli");
  RunningXctld server({}, dir);
  ASSERT_TRUE(server.ok());
  Subprocess missing({BinaryPath("client/cli/xctl"), "--server=" + server.address(), "order",
                      "place", "--strategy", "x"},
                     dir + "/a");
  EXPECT_EQ(missing.Wait(absl::Seconds(30)), 2);
  EXPECT_THAT(missing.Stderr(), HasSubstr("--symbol is required"));
  Subprocess unknown({BinaryPath("client/cli/xctl"), "--server=" + server.address(), "order",
                      "place", "--strategy", "x", "--symbol", "BTC-USDT", "--side", "buy",
                      "--quantity", "1"},
                     dir + "/b");
  EXPECT_EQ(unknown.Wait(absl::Seconds(30)), 1);
  EXPECT_THAT(unknown.Stderr(), HasSubstr("NOT_FOUND: unknown strategy \"x\""));
  Subprocess json({BinaryPath("client/cli/xctl"), "--server=" + server.address(), "--json",
                   "kpis"},
                  dir + "/c");
  EXPECT_EQ(json.Wait(absl::Seconds(30)), 0);
  EXPECT_THAT(json.Stdout(), HasSubstr("\"total\":{\"scope\":{\"all\":true}"));
}

// Every CLI command against a live server: exit 0 and the expected text.
TEST(CliE2e, EveryCommandAgainstALiveServer) {
  std::string dir = MakeTempDir("cli-all");
  RunningXctld server({}, dir);
  ASSERT_TRUE(server.ok());
  int n = 0;
  auto run = [&](std::vector<std::string> args, const std::string& want) {
    args.insert(args.begin(), {BinaryPath("client/cli/xctl"), "--server=" + server.address()});
    Subprocess cli(args, absl::StrCat(dir, "/cli", ++n));
    std::optional<int> exit = cli.Wait(absl::Seconds(30));
    EXPECT_EQ(exit, 0) << args[2] << ": " << cli.Stderr();
    EXPECT_THAT(cli.Stdout(), HasSubstr(want)) << absl::StrJoin(args, " ");
    return cli.Stdout();
  };
  run({"prices"}, "BTC-USDT");
  run({"prices", "--watch", "--json", "--updates=2", "ETH-USDT"}, "\"update\"");
  run({"strategies", "create", "--strategy", "cli1", "--type", "external", "--pairs",
       "BTC-USDT,ETH-USDT", "--starting-balance", "5000", "--start"},
      "running");
  run({"strategies", "list"}, "cli1");
  run({"strategies", "get", "cli1"}, "external");
  run({"order", "place", "--strategy", "cli1", "--symbol", "BTC-USDT", "--side", "buy",
       "--quantity", "1"},
      "filled: buy 1 BTC-USDT paper");
  run({"order", "place", "--strategy", "cli1", "--symbol", "BTC-USDT", "--side", "sell",
       "--quantity", "1", "--price", "99999", "--client-order-id", "far1"},
      "open: sell 1 BTC-USDT paper");
  run({"orders", "--strategy", "cli1", "--status", "open"}, "far1");
  run({"order", "cancel", "--strategy", "cli1", "--client-order-id", "far1"}, "canceled");
  run({"positions", "--strategy", "cli1"}, "long");
  run({"balance", "--strategy", "cli1"}, "5000");
  run({"kpis", "--strategy", "cli1"}, "cli1");
  run({"kpis", "--watch", "--updates=1", "--strategy", "cli1"}, "cli1");  // marks move it
  run({"close", "--strategy", "cli1", "--symbol", "BTC-USDT"}, "closed");
  run({"positions", "--strategy", "cli1", "--status", "closed"}, "closed");
  run({"strategies", "stop", "cli1"}, "stopped");
  run({"strategies", "delete", "cli1"}, "deleted");
}

}  // namespace
}  // namespace xctl
