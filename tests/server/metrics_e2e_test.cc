// xctld's Prometheus endpoint (docs/operations.md, "Monitoring"), scraped
// over HTTP from the real binary after real calls: RPCs by method and code,
// the price module, health and the build; after trading on paper and live
// (the fake BloFin): orders by mode and result, fills, store transactions,
// price fetch and tick-to-strategy latency, BloFin's request budget; every
// xctld metric the Grafana dashboard (docs/grafana/xctl.json) uses; off by
// default; a listen address off loopback refused without
// metrics.allow_remote.
#include <chrono>
#include <fstream>
#include <set>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/metrics_scrape.h"
#include "tests/server/running_xctld.h"
#include "tests/support/fake_blofin.h"
#include "tests/support/subprocess.h"
#include "xctl/v1/exchange_control.grpc.pb.h"
#include "xctl/v1/prices.grpc.pb.h"

namespace xctl {
namespace {

using ::testing::HasSubstr;
using xctl::testing::MetricsPort;
using xctl::testing::RunningXctld;
using xctl::testing::Scrape;
using xctl::testing::Value;

TEST(MetricsE2e, RpcsPricesHealthAndTheBuildAreScrapedAfterRealCalls) {
  RunningXctld server({"--metrics-listen=127.0.0.1:0"});
  ASSERT_TRUE(server.ok()) << server.process().Stdout();
  const int port = MetricsPort(server);
  ASSERT_GT(port, 0) << server.process().Stdout();

  auto control = v1::ExchangeControl::NewStub(server.channel());
  for (int i = 0; i < 3; ++i) {  // three refused orders: unknown strategy
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::PlaceOrderRequest req;
    req.set_strategy_id("nobody");
    req.set_symbol("BTC-USDT");
    req.set_side(v1::SIDE_BUY);
    req.set_type(v1::ORDER_TYPE_MARKET);
    req.mutable_quantity()->set_value("1");
    v1::PlaceOrderResponse resp;
    ASSERT_EQ(control->PlaceOrder(&ctx, req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  auto prices = v1::PriceFeed::NewStub(server.channel());
  std::string page;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {  // until the first prices are in and healthy
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::ListPricesResponse resp;
    if (prices->ListPrices(&ctx, v1::ListPricesRequest(), &resp).ok() && resp.ticks_size() > 0) {
      page = Scrape(port);
      if (absl::StrContains(page, "xctl_health_serving{service=\"all\"} 1")) break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_THAT(page, HasSubstr("xctl_rpc_requests_total{code=\"NOT_FOUND\",method=\"/xctl.v1."
                              "ExchangeControl/PlaceOrder\"} 3"));
  EXPECT_THAT(page, HasSubstr("xctl_rpc_requests_total{code=\"OK\",method=\"/xctl.v1.PriceFeed/"
                              "ListPrices\"}"));
  EXPECT_THAT(page, HasSubstr("xctl_rpc_duration_seconds_count{method=\"/xctl.v1."
                              "ExchangeControl/PlaceOrder\"} 3"));
  EXPECT_THAT(page, HasSubstr("xctl_price_fetches_total "));
  EXPECT_THAT(page, HasSubstr("xctl_price_stale{pair=\"BTC-USDT\"} 0"));
  EXPECT_THAT(page, HasSubstr("xctl_price_age_seconds{pair=\"ETH-USDT\"}"));
  EXPECT_THAT(page, HasSubstr("xctl_health_serving{service=\"all\"} 1"));
  EXPECT_THAT(page, HasSubstr("xctl_build_info{version=\""));
}

grpc::Status Order(RunningXctld& s, const std::string& id, const std::string& qty) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::PlaceOrderRequest req;
  req.set_strategy_id(id);
  req.set_symbol("BTC-USDT");
  req.set_side(v1::SIDE_BUY);
  req.set_type(v1::ORDER_TYPE_MARKET);
  req.mutable_quantity()->set_value(qty);
  v1::PlaceOrderResponse resp;
  return v1::ExchangeControl::NewStub(s.channel())->PlaceOrder(&ctx, req, &resp);
}

TEST(MetricsE2e, TradingOnPaperAndLiveIsScrapedByModeAndResult) {
  xctl::testing::FakeBlofin fake;
  ASSERT_TRUE(fake.ok());
  ASSERT_TRUE(fake.AddAccount("live-key", "live-secret", "live-pass"));
  const std::string dir = xctl::testing::MakeTempDir("metrics-trading");
  std::ofstream(dir + "/xctl.yaml")
      << "price:\n  source: blofin\n  blofin_url: " << fake.base_url()
      << "\n  pairs: [BTC-USDT]\n  interval_ms: 100\nblofin:\n  url: " << fake.base_url()
      << "\n  requests_per_minute: 100000\n"  // a local fake: faster than BloFin allows
      << "metrics:\n  listen: 127.0.0.1:0\nstrategies:\n"
      << "  - {id: p1, type: external, pairs: [BTC-USDT], starting_balance: \"1000\"}\n"
      << "  - id: l1\n    type: external\n    pairs: [BTC-USDT]\n"
      << "    credentials_env: {api_key: LIVE_KEY, api_secret: LIVE_SECRET, passphrase: LIVE_PASS}\n"
      << "  - id: sma\n    type: sma_cross\n    pairs: [BTC-USDT]\n"
      << "    params: {fast: \"2\", slow: \"3\", quantity: \"1\"}\n";
  RunningXctld server({"--config=" + dir + "/xctl.yaml"}, dir,
                      {"LIVE_KEY=live-key", "LIVE_SECRET=live-secret", "LIVE_PASS=live-pass"});
  ASSERT_TRUE(server.ok()) << server.process().Stdout();
  const int port = MetricsPort(server);
  ASSERT_GT(port, 0) << server.process().Stdout();

  ASSERT_TRUE(Order(server, "p1", "1").ok());
  ASSERT_TRUE(Order(server, "p1", "2").ok());
  // Far beyond the paper account's margin: refused, with its reason.
  ASSERT_EQ(Order(server, "p1", "1000").error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(Order(server, "l1", "1").ok()) << server.process().Stdout();

  // A price stream open while scraped.
  grpc::ClientContext stream_ctx;
  auto stream =
      v1::PriceFeed::NewStub(server.channel())->StreamPrices(&stream_ctx, v1::StreamPricesRequest());
  v1::StreamPricesResponse first;
  ASSERT_TRUE(stream->Read(&first));
  // Moving prices reach the price-driven strategy within a few intervals.
  std::string page;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  for (int i = 0; absl::Now() < deadline; ++i) {
    ASSERT_TRUE(fake.SetTickers(absl::StrCat(R"({"BTC-USDT":{"bid":")", 64000 + i % 7,
                                             R"(","ask":")", 64001 + i % 7, R"(","last":")",
                                             64000 + i % 7, R"("}})")));
    page = Scrape(port);
    if (Value(page, "xctl_tick_to_strategy_seconds_count") > 0) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(Value(page, "xctl_rpc_open_streams{method=\"/xctl.v1.PriceFeed/StreamPrices\"}"), 1);
  EXPECT_EQ(Value(page, "xctl_orders_total{call=\"place\",mode=\"paper\",result=\"ok\"}"), 2)
      << page;
  EXPECT_EQ(Value(page, "xctl_orders_total{call=\"place\",mode=\"paper\","
                        "result=\"INSUFFICIENT_MARGIN\"}"),
            1);
  EXPECT_EQ(Value(page, "xctl_orders_total{call=\"place\",mode=\"live\",result=\"ok\"}"), 1);
  EXPECT_GE(Value(page, "xctl_fills_total{mode=\"paper\"}"), 2);
  EXPECT_GT(Value(page, "xctl_tick_to_strategy_seconds_count"), 0);
  EXPECT_GT(Value(page, "xctl_store_transaction_duration_seconds_count{result=\"commit\"}"), 2);
  EXPECT_GT(Value(page, "xctl_price_fetch_duration_seconds_count{result=\"ok\"}"), 0);
  EXPECT_GE(Value(page, "xctl_price_ticks_conflated_total"), 0);
  // The budget's host: scheme, host and port of BloFin's URL.
  const std::string& url = fake.base_url();
  const std::string host = "host=\"" + url.substr(0, url.find('/', url.find("://") + 3));
  EXPECT_GT(Value(page, "xctl_blofin_requests_total{" + host + "\",kind=\"public\",result=\"sent\"}"),
            0)
      << page;
  EXPECT_GT(Value(page, "xctl_blofin_requests_total{" + host + "\",kind=\"trade\",result=\"sent\"}"),
            0);
  const double remaining = Value(page, "xctl_blofin_requests_remaining{" + host + "\"}");
  EXPECT_GT(remaining, 0);
  EXPECT_LT(remaining, 100000);
  EXPECT_EQ(Value(page, "xctl_blofin_backing_off{" + host + "\"}"), 0);

  // Every xctld metric the Grafana dashboard queries is one this page has
  // (cluster-only ones are checked by the cluster suite, the gateway's by
  // the gateway's tests).
  std::set<std::string> used;
  for (const std::string& name : xctl::testing::DashboardMetrics("xctl_")) {
    if (!absl::StartsWith(name, "xctl_cluster_") && !absl::StartsWith(name, "xctl_gateway_")) {
      used.insert(name);
    }
  }
  EXPECT_GE(used.size(), 10u);
  for (const std::string& name : used) {
    EXPECT_THAT(page, HasSubstr("# TYPE " + name + " ")) << name << " is not served by xctld";
  }
  stream_ctx.TryCancel();
}

TEST(MetricsE2e, OffByDefaultAndNeverOffLoopbackUnlessAllowed) {
  RunningXctld server;
  ASSERT_TRUE(server.ok());
  EXPECT_THAT(server.process().Stdout(), ::testing::Not(HasSubstr("event=metrics_serving")));

  xctl::testing::Subprocess refused(
      {xctl::testing::BinaryPath("server/xctld"), "--check-config", "--metrics-listen=0.0.0.0:9464"},
      xctl::testing::MakeTempDir("metrics") + "/xctld");
  EXPECT_EQ(refused.Wait(absl::Seconds(30)), 2);
  EXPECT_THAT(refused.Stderr(), HasSubstr("metrics.allow_remote"));
}

}  // namespace
}  // namespace xctl
