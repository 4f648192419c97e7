// Runs the real xctld binary on a free loopback port and checks what a user
// or an operator sees: health, reflection, clear API errors, clear one-line errors for bad configuration, and a
// clean exit on SIGTERM.
#include <signal.h>

#include <fstream>
#include <memory>
#include <set>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/support/fake_blofin.h"
#include "tests/server/running_xctld.h"
#include "tests/support/subprocess.h"
#include "xctl/v1/prices.grpc.pb.h"
#include "xctl/v1/exchange_control.grpc.pb.h"

namespace xctl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using xctl::testing::BinaryPath;
using xctl::testing::MakeTempDir;
using xctl::testing::RunningXctld;
using xctl::testing::Subprocess;

std::string Xctld() { return BinaryPath("server/xctld"); }

TEST(Xctld, AnswersTheHealthCheck) {
  RunningXctld server;
  ASSERT_TRUE(server.ok()) << server.process().Stderr();
  auto stub = grpc::health::v1::Health::NewStub(server.channel());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  grpc::Status st = stub->Check(&ctx, req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST(Xctld, ReflectionListsTheThreeServicesAndHealth) {
  RunningXctld server;
  ASSERT_TRUE(server.ok()) << server.process().Stderr();
  auto stub = grpc::reflection::v1alpha::ServerReflection::NewStub(server.channel());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto stream = stub->ServerReflectionInfo(&ctx);
  grpc::reflection::v1alpha::ServerReflectionRequest req;
  req.set_list_services("*");
  ASSERT_TRUE(stream->Write(req));
  stream->WritesDone();
  grpc::reflection::v1alpha::ServerReflectionResponse resp;
  ASSERT_TRUE(stream->Read(&resp));
  std::set<std::string> names;
  for (const auto& s : resp.list_services_response().service()) names.insert(s.name());
  EXPECT_THAT(names, ::testing::IsSupersetOf({"xctl.v1.PriceFeed",
                                              "xctl.v1.ExchangeControl",
                                              "xctl.v1.StrategyManager",
                                              "grpc.health.v1.Health"}));
  while (stream->Read(&resp)) {
  }
  EXPECT_TRUE(stream->Finish().ok());
}

TEST(Xctld, StopsCleanlyOnSigterm) {
  RunningXctld server;
  ASSERT_TRUE(server.ok()) << server.process().Stderr();
  server.process().Signal(SIGTERM);
  auto code = server.process().Wait(absl::Seconds(15));
  ASSERT_TRUE(code.has_value()) << "xctld did not exit within 15 s of SIGTERM";
  EXPECT_EQ(*code, 0) << server.process().Stderr();
  EXPECT_THAT(server.process().Stderr() + server.process().Stdout(),
              HasSubstr("event=xctld_stopped"));
}

// Runs xctld with `args` and expects it to exit with `code` and one line on
// stderr containing `message`.
void ExpectStartFailure(std::vector<std::string> args, int code,
                        const std::string& message) {
  std::string dir = MakeTempDir("badstart");
  args.insert(args.begin(), Xctld());
  Subprocess p(args, dir + "/xctld");
  auto exit = p.Wait(absl::Seconds(30));
  ASSERT_TRUE(exit.has_value()) << "xctld kept running with bad input";
  EXPECT_EQ(*exit, code) << p.Stderr();
  std::string err = p.Stderr();
  EXPECT_THAT(err, HasSubstr(message));
  EXPECT_TRUE(absl::StartsWith(err, "xctld: ")) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

TEST(XctldStart, UnknownConfigKeyIsOneClearLine) {
  std::string dir = MakeTempDir("cfg");
  std::string path = dir + "/bad.yaml";
  std::ofstream(path) << "listen: 127.0.0.1:0\nlisten_adress: oops\n";
  ExpectStartFailure({"--config=" + path}, 2, "unknown key \"listen_adress\"");
}

TEST(XctldStart, MissingConfigFileIsNamed) {
  ExpectStartFailure({"--config=/nonexistent/xctl.yaml"}, 2,
                     "cannot read config file \"/nonexistent/xctl.yaml\"");
}

TEST(XctldStart, BadDatabaseUrlIsRefused) {
  ExpectStartFailure({"--db=mysql://root@localhost/x"}, 2,
                     "expected sqlite:PATH or postgresql://");
}

TEST(XctldStart, UnreachableDatabaseFailsWithoutLeakingThePassword) {
  std::string dir = MakeTempDir("unreach");
  Subprocess p({Xctld(), "--listen=127.0.0.1:0",
                "--db=postgresql://xctl:hunter2secret@127.0.0.1:1/xctl"},
               dir + "/xctld");
  auto exit = p.Wait(absl::Seconds(30));
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(*exit, 1) << p.Stderr();
  EXPECT_THAT(p.Stderr(), HasSubstr("xctld: "));
  EXPECT_THAT(p.Stderr(), HasSubstr("127.0.0.1"));
  EXPECT_THAT(p.Stderr() + p.Stdout(), Not(HasSubstr("hunter2secret")));
}

TEST(XctldStart, AMisspeltFlagExitsTwoNamingTheNearest) {
  ExpectStartFailure({"--lisen=127.0.0.1:0"}, 2,
                     "unknown flag --lisen (did you mean --listen?)");
  ExpectStartFailure({"--price_intervl_ms=100"}, 2,
                     "unknown flag --price-intervl-ms (did you mean --price-interval-ms?)");
}

// --help / -h: the usage and every flag of xctld's, dashed, one line each,
// on stdout, exit 0; --version names the CMake project's version.
TEST(XctldStart, HelpListsEveryFlagDashedAndExitsZero) {
  for (const char* help : {"--help", "-h"}) {
    Subprocess p({Xctld(), help}, MakeTempDir("help") + "/xctld");
    ASSERT_EQ(p.Wait(absl::Seconds(30)), 0) << help << p.Stderr();
    const std::string out = p.Stdout();
    EXPECT_THAT(out, HasSubstr("Usage: xctld"));
    for (const char* flag : {"--listen=VALUE", "--db=VALUE", "--price-interval-ms=VALUE",
                             "--blofin-requests-per-minute=VALUE", "--check-config",
                             "--forget-credentials", "--version"}) {
      EXPECT_THAT(out, HasSubstr(flag)) << help;
    }
    EXPECT_THAT(out, Not(HasSubstr("price_interval_ms"))) << help;
    EXPECT_THAT(out, Not(HasSubstr("No flags matched"))) << help;
  }
  Subprocess version({Xctld(), "--version"}, MakeTempDir("version") + "/xctld");
  ASSERT_EQ(version.Wait(absl::Seconds(30)), 0);
  EXPECT_THAT(version.Stdout(), ::testing::MatchesRegex("xctld [0-9]+\\.[0-9]+\\.[0-9]+ \\(git [^)]+\\)\n"));
}

TEST(XctldStart, BadFlagValueIsRefused) {
  ExpectStartFailure({"--price-interval-ms=10"}, 2, "50");
}

TEST(XctldStart, PortInUseIsReported) {
  RunningXctld first;
  ASSERT_TRUE(first.ok());
  std::string port = xctl::testing::ReadFile(first.dir() + "/port");
  port.pop_back();
  std::string dir = MakeTempDir("inuse");
  Subprocess p({Xctld(), "--listen=127.0.0.1:" + port,
                "--db=sqlite:" + dir + "/x.db"},
               dir + "/xctld");
  auto exit = p.Wait(absl::Seconds(30));
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(*exit, 1);
  EXPECT_THAT(p.Stderr(), HasSubstr("cannot listen on 127.0.0.1:" + port));
}

TEST(Xctld, ExchangeControlAnswersBadRequestsWithClearErrors) {
  RunningXctld server;
  ASSERT_TRUE(server.ok()) << server.process().Stderr();
  auto stub = v1::ExchangeControl::NewStub(server.channel());
  {
    grpc::ClientContext ctx;
    v1::GetKpisResponse resp;
    ASSERT_TRUE(stub->GetKpis(&ctx, v1::GetKpisRequest(), &resp).ok());
    EXPECT_TRUE(resp.total().scope().all());
  }
  {
    grpc::ClientContext ctx;
    v1::PlaceOrderResponse resp;
    grpc::Status st = stub->PlaceOrder(&ctx, v1::PlaceOrderRequest(), &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(st.error_message(), HasSubstr("strategy_id: required"));
  }
  {
    grpc::ClientContext ctx;
    v1::PlaceOrderRequest req;
    req.set_strategy_id("nobody");
    req.set_symbol("BTC-USDT");
    req.set_side(v1::SIDE_BUY);
    req.set_type(v1::ORDER_TYPE_MARKET);
    req.mutable_quantity()->set_value("1");
    v1::PlaceOrderResponse resp;
    grpc::Status st = stub->PlaceOrder(&ctx, req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_THAT(st.error_message(), HasSubstr("unknown strategy \"nobody\""));
  }
  {
    grpc::ClientContext ctx;
    v1::ListPositionsRequest req;
    req.set_page_size(5000);
    v1::ListPositionsResponse resp;
    grpc::Status st = stub->ListPositions(&ctx, req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(st.error_message(), HasSubstr("page_size"));
  }
}

// GetPrice of `pair`, asked again for up to 5 s while the price is not there
// yet (the source's first fetch or snapshot may still be in flight).
grpc::Status GetPriceWhenThere(v1::PriceFeed::Stub& stub, const std::string& pair,
                               v1::GetPriceResponse* resp) {
  grpc::Status st;
  for (int i = 0; i < 100; ++i) {
    grpc::ClientContext ctx;
    v1::GetPriceRequest req;
    req.set_pair(pair);
    st = stub.GetPrice(&ctx, req, resp);
    if (st.ok()) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return st;
}

TEST(Xctld, ServesPricesFromTheBlofinSourcePointedAtALocalServer) {
  xctl::testing::FakeBlofin blofin;
  ASSERT_TRUE(blofin.ok());
  ASSERT_TRUE(blofin.SetTickers(
      R"({"BTC-USDT":{"bid":"70000","ask":"70001.5","last":"70000.5"},)"
      R"("ETH-USDT":{"bid":"3500","ask":"3500.5","last":"3500.25"}})"));
  RunningXctld server({"--price-source=blofin", "--blofin-url=" + blofin.base_url(),
                       "--pairs=BTC-USDT,ETH-USDT",
                       // faster than BloFin's 500 a minute allows: a local fake
                       "--blofin-requests-per-minute=100000"});
  ASSERT_TRUE(server.ok()) << server.process().Stderr();
  auto stub = v1::PriceFeed::NewStub(server.channel());
  v1::GetPriceResponse resp;
  grpc::Status st = GetPriceWhenThere(*stub, "BTC-USDT", &resp);  // the first poll
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.tick().bid().value(), "70000");
  EXPECT_EQ(resp.tick().ask().value(), "70001.5");
  EXPECT_EQ(resp.tick().last().value(), "70000.5");

  grpc::ClientContext ctx;
  v1::StreamPricesRequest req;
  auto reader = stub->StreamPrices(&ctx, req);
  v1::StreamPricesResponse msg;
  ASSERT_TRUE(reader->Read(&msg));
  ASSERT_TRUE(msg.has_snapshot());
  EXPECT_EQ(msg.snapshot().ticks_size(), 2);
  ASSERT_TRUE(blofin.SetTickers(
      R"({"BTC-USDT":{"bid":"70010","ask":"70011","last":"70010.5"},)"
      R"("ETH-USDT":{"bid":"3500","ask":"3500.5","last":"3500.25"}})"));
  ASSERT_TRUE(reader->Read(&msg));
  ASSERT_TRUE(msg.has_update());
  ASSERT_EQ(msg.update().ticks_size(), 1);  // only the pair that changed
  EXPECT_EQ(msg.update().ticks(0).last().value(), "70010.5");
  ctx.TryCancel();
  reader->Finish();
}

// --price-source blofin-ws (docs/price.md, "blofin-ws"): the snapshot on
// connect, then a change reaches a gRPC stream by the fake's WebSocket push,
// with no REST poll behind it.
TEST(Xctld, StreamsPricesPushedByTheBlofinWsSource) {
  xctl::testing::FakeBlofin blofin(/*websocket=*/true);
  ASSERT_TRUE(blofin.ok());
  ASSERT_TRUE(blofin.WsControl(R"({"push_interval_ms":0})"));
  const std::string dir = MakeTempDir("xctld-ws");
  {
    std::ofstream(dir + "/ws.yaml") << "price:\n  blofin_ws_url: " << blofin.ws_url() << "\n";
  }
  RunningXctld server({"--config=" + dir + "/ws.yaml", "--price-source=blofin-ws",
                       "--blofin-url=" + blofin.base_url(), "--pairs=BTC-USDT,ETH-USDT"});
  ASSERT_TRUE(server.ok()) << server.process().Stderr();
  auto stub = v1::PriceFeed::NewStub(server.channel());
  v1::GetPriceResponse resp;  // after the connection and its snapshot
  grpc::Status st = GetPriceWhenThere(*stub, "ETH-USDT", &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.tick().last().value(), "3200.05");  // the fake's default, by the snapshot

  grpc::ClientContext ctx;
  auto reader = stub->StreamPrices(&ctx, v1::StreamPricesRequest());
  v1::StreamPricesResponse msg;
  ASSERT_TRUE(reader->Read(&msg));
  ASSERT_TRUE(msg.has_snapshot());
  ASSERT_TRUE(blofin.SetTickers(
      R"({"BTC-USDT":{"bid":"71000","ask":"71001","last":"71000.5"},)"
      R"("ETH-USDT":{"last":"3200.05","bid":"3200","ask":"3200.1"}})"));
  do {  // BTC's snapshot may come first when the stream opened before it
    ASSERT_TRUE(reader->Read(&msg));
  } while (!(msg.has_update() && msg.update().ticks_size() == 1 &&
             msg.update().ticks(0).last().value() == "71000.5"));
  EXPECT_EQ(msg.update().ticks(0).pair(), "BTC-USDT");
  EXPECT_EQ(msg.update().ticks(0).bid().value(), "71000");
  EXPECT_EQ(blofin.Requests("GET /api/v1/market/tickers"), 1);  // the snapshot only
  EXPECT_EQ(blofin.WsStat("connects"), 1);
  ctx.TryCancel();
  reader->Finish();
}

}  // namespace
}  // namespace xctl
