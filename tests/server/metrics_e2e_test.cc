// xctld's Prometheus endpoint (docs/operations.md, "Monitoring"), scraped
// over HTTP from the real binary after real calls: RPCs by method and code,
// the price module, health and the build; off by default; a listen address
// off loopback refused without metrics.allow_remote.
#include <chrono>
#include <regex>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/http_client.h"
#include "tests/server/running_xctld.h"
#include "tests/support/subprocess.h"
#include "xctl/v1/exchange_control.grpc.pb.h"
#include "xctl/v1/prices.grpc.pb.h"

namespace xctl {
namespace {

using ::testing::HasSubstr;
using xctl::testing::RunningXctld;

// The port of "event=metrics_serving ... port=N" in xctld's log; 0 if absent.
int MetricsPort(RunningXctld& server) {
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  const std::regex port_re("event=metrics_serving [^\\n]* port=([0-9]+)");
  while (absl::Now() < deadline) {
    std::smatch m;
    const std::string log = server.process().Stdout();
    if (std::regex_search(log, m, port_re)) return std::stoi(m[1]);
    absl::SleepFor(absl::Milliseconds(50));
  }
  return 0;
}

std::string Scrape(int port) {
  HttpClient http({.timeout_ms = 5000});
  auto r = http.Send("GET", absl::StrCat("http://127.0.0.1:", port, "/metrics"), {}, "");
  if (!r.ok() || r->status != 200) return "";
  return r->body;
}

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
