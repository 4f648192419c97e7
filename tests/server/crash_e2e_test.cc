// Crash safety: xctld is killed with SIGKILL while clients place orders and
// sma_cross strategies trade by themselves, then restarted on the same
// database (SQLite file, PostgreSQL server). Every order acknowledged to a
// client must be stored with its fill, none applied twice, the positions must
// equal what the stored fills add up to, the KPIs what the closed rows add up
// to, and a retry of an acknowledged client order id must not trade again.
#include <signal.h>

#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/decimal.h"
#include "tests/server/running_xctld.h"
#include "tests/server/stored_orders.h"
#include "tests/support/pg_url.h"
#include "tests/support/tcp_proxy.h"
#include "xctl/v1/prices.grpc.pb.h"
#include "tests/support/test_databases.h"
#include "xctl/v1/exchange_control.grpc.pb.h"

namespace xctl {
namespace {

using ::xctl::testing::AddOpenRow;
using ::xctl::testing::ExpectOpenEqualsNet;
using ::xctl::testing::MakeTempDir;
using ::xctl::testing::NetByStrategySymbol;
using ::xctl::testing::ReadStoredOrders;
using ::xctl::testing::StoredOrders;
using ::xctl::testing::RunningXctld;
using ::xctl::testing::TestDatabase;

Decimal D(const std::string& s) { return Decimal::Parse(s).value(); }

constexpr char kConfig[] = R"(price: {source: simulated, pairs: [BTC-USDT, ETH-USDT], interval_ms: 20}
strategies:
  - {id: c0, type: external, pairs: [BTC-USDT, ETH-USDT], leverage: "10"}
  - {id: c1, type: external, pairs: [BTC-USDT, ETH-USDT], leverage: "10"}
  - {id: c2, type: external, pairs: [BTC-USDT, ETH-USDT], leverage: "10"}
  - {id: auto, type: sma_cross, pairs: [BTC-USDT], params: {fast: "2", slow: "4"}}
)";

class CrashE2e : public ::testing::TestWithParam<std::string> {};

TEST_P(CrashE2e, AcknowledgedOrdersSurviveSigkillExactlyOnce) {
  TestDatabase db(GetParam());
  XCTL_REQUIRE_DATABASE(db);
  const std::string dir = MakeTempDir("crash");
  const std::string config = dir + "/xctl.yaml";
  {
    std::ofstream(config) << kConfig;
  }
  const std::vector<std::string> flags = {"--config=" + config, "--db=" + db.url()};
  auto server = std::make_unique<RunningXctld>(flags, dir);
  ASSERT_TRUE(server->ok()) << server->process().Stderr();

  // Clients place orders until the server dies; what was acknowledged is kept.
  absl::Mutex mu;
  std::map<std::string, std::string> acked;  // client order id -> strategy
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int t = 0; t < 3; ++t) {
    clients.emplace_back([&, t] {
      auto stub = v1::ExchangeControl::NewStub(server->channel());
      const std::string strategy = absl::StrCat("c", t);
      for (int i = 0; !stop; ++i) {
        v1::PlaceOrderRequest req;
        req.set_strategy_id(strategy);
        req.set_symbol(i % 3 == 0 ? "ETH-USDT" : "BTC-USDT");
        req.set_side(i % 2 == 0 ? v1::SIDE_BUY : v1::SIDE_SELL);
        req.set_type(v1::ORDER_TYPE_MARKET);
        req.mutable_quantity()->set_value(i % 4 == 0 ? "2" : "1");
        req.set_client_order_id(absl::StrCat("k", t, "n", i));
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
        v1::PlaceOrderResponse resp;
        grpc::Status st = stub->PlaceOrder(&ctx, req, &resp);
        if (st.ok()) {
          absl::MutexLock lock(&mu);
          acked[req.client_order_id()] = strategy;
        } else if (st.error_code() == grpc::StatusCode::UNAVAILABLE ||
                   st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
          return;  // the server is gone
        }
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(1500));
  server->process().Signal(SIGKILL);
  ASSERT_TRUE(server->process().Wait(absl::Seconds(10)).has_value());
  stop = true;
  for (auto& c : clients) c.join();
  ASSERT_GT(acked.size(), 20u) << "too little load to mean anything";

  server = std::make_unique<RunningXctld>(flags, dir);
  ASSERT_TRUE(server->ok()) << server->process().Stderr();
  auto stub = v1::ExchangeControl::NewStub(server->channel());

  // Every stored order, every page: once each, all filled.
  StoredOrders stored;
  ReadStoredOrders(*stub, &stored);
  if (HasFatalFailure()) return;
  const auto& orders = stored.by_key;
  const NetByStrategySymbol& net = stored.net;
  std::string token;
  for (const auto& [coid, strategy] : acked) {
    auto it = orders.find(strategy + "/" + coid);
    ASSERT_NE(it, orders.end()) << "acknowledged order " << coid << " was lost";
    EXPECT_EQ(it->second.filled_quantity().value(), it->second.quantity().value());
  }

  // Open positions equal the net of the stored fills; closed rows add up to
  // the realized KPIs.
  NetByStrategySymbol open;
  std::map<std::string, Decimal> realized;
  for (auto status : {v1::POSITION_STATUS_OPEN, v1::POSITION_STATUS_CLOSED}) {
    token.clear();
    do {
      grpc::ClientContext ctx;
      v1::ListPositionsRequest req;
      req.set_status(status);
      req.set_page_size(1000);
      req.set_page_token(token);
      v1::ListPositionsResponse resp;
      ASSERT_TRUE(stub->ListPositions(&ctx, req, &resp).ok());
      for (const v1::Position& p : resp.positions()) {
        if (status == v1::POSITION_STATUS_OPEN) {
          AddOpenRow(p, &open);
        } else {
          realized[p.strategy_id()] += D(p.pnl().value());
        }
      }
      token = resp.next_page_token();
    } while (!token.empty());
  }
  ExpectOpenEqualsNet(open, net);
  EXPECT_GE(realized.size(), 3u) << "no closed trades to check the KPIs with";
  ::testing::Test::RecordProperty("acknowledged_orders", static_cast<int>(acked.size()));
  ::testing::Test::RecordProperty("stored_orders", static_cast<int>(orders.size()));
  for (const auto& [strategy, pnl] : realized) {
    grpc::ClientContext ctx;
    v1::GetKpisRequest req;
    req.set_strategy_id(strategy);
    v1::GetKpisResponse resp;
    ASSERT_TRUE(stub->GetKpis(&ctx, req, &resp).ok());
    EXPECT_EQ(D(resp.total().realized_pnl().value()), pnl) << strategy;
  }

  // A client retrying an acknowledged order after the crash gets it back.
  const auto& [coid, strategy] = *acked.begin();
  grpc::ClientContext ctx;
  v1::PlaceOrderRequest retry;
  const v1::Order& first = orders.at(strategy + "/" + coid);
  retry.set_strategy_id(strategy);
  retry.set_symbol(first.symbol());
  retry.set_side(first.side());
  retry.set_type(v1::ORDER_TYPE_MARKET);
  *retry.mutable_quantity() = first.quantity();
  retry.set_client_order_id(coid);
  v1::PlaceOrderResponse replay;
  ASSERT_TRUE(stub->PlaceOrder(&ctx, retry, &replay).ok());
  EXPECT_TRUE(replay.replayed());
  EXPECT_EQ(replay.order().id(), first.id());
}

// PostgreSQL going away mid-run (a proxy the test cuts): orders fail with
// UNAVAILABLE and say why, prices keep streaming, and trading resumes once
// the database is back.
TEST(DatabaseE2e, TradingPausesWhileThePostgresServerIsGoneAndResumes) {
  TestDatabase db("postgresql");
  XCTL_REQUIRE_DATABASE(db);
  xctl::testing::TcpProxy proxy(xctl::testing::PgPort(db.url()));
  const std::string dir = MakeTempDir("dbgone");
  {
    std::ofstream(dir + "/xctl.yaml")
        << "price: {source: simulated, pairs: [BTC-USDT], interval_ms: 50}\n"
           "strategies:\n  - {id: s1, type: external, pairs: [BTC-USDT]}\n";
  }
  RunningXctld server({"--config=" + dir + "/xctl.yaml",
                       "--db=" + xctl::testing::WithPgPort(db.url(), proxy.port())},
                      dir);
  ASSERT_TRUE(server.ok()) << server.process().Stdout();
  auto control = v1::ExchangeControl::NewStub(server.channel());
  auto place = [&](const std::string& coid) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    v1::PlaceOrderRequest req;
    req.set_strategy_id("s1");
    req.set_symbol("BTC-USDT");
    req.set_side(v1::SIDE_BUY);
    req.set_type(v1::ORDER_TYPE_MARKET);
    req.mutable_quantity()->set_value("1");
    req.set_client_order_id(coid);
    v1::PlaceOrderResponse resp;
    return control->PlaceOrder(&ctx, req, &resp);
  };
  ASSERT_TRUE(place("before").ok());

  proxy.Cut();
  grpc::Status gone = place("during");
  EXPECT_EQ(gone.error_code(), grpc::StatusCode::UNAVAILABLE) << gone.error_message();
  EXPECT_THAT(gone.error_message(), ::testing::HasSubstr("database"));
  {
    grpc::ClientContext ctx;
    auto prices = v1::PriceFeed::NewStub(server.channel())->StreamPrices(&ctx, {});
    v1::StreamPricesResponse msg;
    int updates = 0;
    while (updates < 3 && prices->Read(&msg)) updates += msg.has_update();
    EXPECT_EQ(updates, 3) << "prices stopped with the database";
    ctx.TryCancel();
  }

  proxy.Resume();
  grpc::Status back = place("after");
  EXPECT_TRUE(back.ok()) << back.error_message();
  // The retry of the order that failed while the database was gone trades once.
  EXPECT_TRUE(place("during").ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, CrashE2e, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace xctl
