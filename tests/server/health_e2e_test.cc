// The health service of the real xctld binary tells the truth per service
// (server/api/health_service.h): PriceFeed follows the price source,
// ExchangeControl and StrategyManager follow the database, "" needs them all;
// a dead price source and a vanished PostgreSQL server flip it and their
// return flips it back; Watch streams see the changes and the shutdown.
#include <signal.h>

#include <chrono>
#include <fstream>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/server/running_xctld.h"
#include "tests/support/fake_blofin.h"
#include "tests/support/pg_url.h"
#include "tests/support/subprocess.h"
#include "tests/support/tcp_proxy.h"
#include "tests/support/test_databases.h"

namespace xctl {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using xctl::testing::MakeTempDir;
using xctl::testing::RunningXctld;

constexpr char kPriceFeed[] = "xctl.v1.PriceFeed";
constexpr char kExchangeControl[] = "xctl.v1.ExchangeControl";
constexpr char kStrategyManager[] = "xctl.v1.StrategyManager";

// "SERVING", "NOT_SERVING", ... or the gRPC error code's number as text.
std::string Check(const std::shared_ptr<grpc::Channel>& channel, const std::string& service) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  HealthCheckRequest req;
  req.set_service(service);
  HealthCheckResponse resp;
  grpc::Status st = Health::NewStub(channel)->Check(&ctx, req, &resp);
  if (!st.ok()) return "error " + std::to_string(st.error_code());
  return HealthCheckResponse::ServingStatus_Name(resp.status());
}

// Polls Check until `service` reports `want` (true) or 20 s pass (false).
bool Becomes(const std::shared_ptr<grpc::Channel>& channel, const std::string& service,
             const std::string& want) {
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    if (Check(channel, service) == want) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return false;
}

std::string WriteConfig(const std::string& dir, const std::string& yaml) {
  std::ofstream(dir + "/xctl.yaml") << yaml;
  return "--config=" + dir + "/xctl.yaml";
}

TEST(HealthE2e, EveryServiceServesOnceThereArePricesAndUnknownNamesAreNotFound) {
  RunningXctld server;
  ASSERT_TRUE(server.ok()) << server.process().Stderr();
  ASSERT_TRUE(Becomes(server.channel(), "", "SERVING")) << server.process().Stdout();
  for (const char* service : {kPriceFeed, kExchangeControl, kStrategyManager,
                              "grpc.health.v1.Health"}) {
    EXPECT_EQ(Check(server.channel(), service), "SERVING") << service;
  }
  EXPECT_EQ(Check(server.channel(), "xctl.v1.Nope"),
            "error " + std::to_string(grpc::StatusCode::NOT_FOUND));
}

TEST(HealthE2e, PriceFeedIsNotServingWhileThePriceSourceFailsAndServesWhenItIsBack) {
  xctl::testing::FakeBlofin fake;
  ASSERT_TRUE(fake.ok());
  const std::string dir = MakeTempDir("health-prices");
  RunningXctld server(
      {WriteConfig(dir, "price: {source: blofin, pairs: [BTC-USDT]}\n"),
       "--blofin-url=" + fake.base_url(), "--price-interval-ms=300"},
      dir);
  ASSERT_TRUE(server.ok()) << server.process().Stderr();
  ASSERT_TRUE(Becomes(server.channel(), kPriceFeed, "SERVING")) << server.process().Stdout();

  ASSERT_TRUE(fake.Fault("/api/v1/market/tickers", "http_500", 1'000'000));
  EXPECT_TRUE(Becomes(server.channel(), kPriceFeed, "NOT_SERVING"));
  EXPECT_EQ(Check(server.channel(), ""), "NOT_SERVING");
  EXPECT_EQ(Check(server.channel(), kExchangeControl), "SERVING");
  EXPECT_THAT(server.process().Stdout(),
              ::testing::HasSubstr("event=health_changed probe=prices status=failing"));

  ASSERT_TRUE(fake.Control("reset", "{}"));
  EXPECT_TRUE(Becomes(server.channel(), kPriceFeed, "SERVING")) << server.process().Stdout();
  EXPECT_EQ(Check(server.channel(), ""), "SERVING");
}

TEST(HealthE2e, ExchangeControlIsNotServingWhileThePostgresServerIsGone) {
  xctl::testing::TestDatabase db("postgresql");
  XCTL_REQUIRE_DATABASE(db);
  xctl::testing::TcpProxy proxy(xctl::testing::PgPort(db.url()));
  const std::string dir = MakeTempDir("health-db");
  RunningXctld server({"--db=" + xctl::testing::WithPgPort(db.url(), proxy.port())}, dir);
  ASSERT_TRUE(server.ok()) << server.process().Stdout();
  ASSERT_TRUE(Becomes(server.channel(), "", "SERVING")) << server.process().Stdout();

  // A Watch of the whole server sees every change.
  grpc::ClientContext watch_ctx;
  watch_ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto watch = Health::NewStub(server.channel())->Watch(&watch_ctx, HealthCheckRequest());
  HealthCheckResponse seen;
  ASSERT_TRUE(watch->Read(&seen));
  EXPECT_EQ(seen.status(), HealthCheckResponse::SERVING);

  proxy.Cut();
  EXPECT_TRUE(Becomes(server.channel(), kExchangeControl, "NOT_SERVING"));
  EXPECT_EQ(Check(server.channel(), kStrategyManager), "NOT_SERVING");
  EXPECT_EQ(Check(server.channel(), kPriceFeed), "SERVING");
  ASSERT_TRUE(watch->Read(&seen));
  EXPECT_EQ(seen.status(), HealthCheckResponse::NOT_SERVING);

  proxy.Resume();
  EXPECT_TRUE(Becomes(server.channel(), kExchangeControl, "SERVING"))
      << server.process().Stdout();
  ASSERT_TRUE(watch->Read(&seen));
  EXPECT_EQ(seen.status(), HealthCheckResponse::SERVING);

  // Shutting down: the watcher hears NOT_SERVING, then the stream ends.
  server.process().Signal(SIGTERM);
  ASSERT_TRUE(watch->Read(&seen));
  EXPECT_EQ(seen.status(), HealthCheckResponse::NOT_SERVING);
  EXPECT_FALSE(watch->Read(&seen));
  EXPECT_EQ(server.process().Wait(absl::Seconds(30)), 0) << server.process().Stdout();
}

}  // namespace
}  // namespace xctl
