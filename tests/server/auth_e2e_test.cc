// Tokens through the real binaries: admin and strategy-scoped tokens, reads
// with and without anonymous access, the TradingView path (the signal secret
// stands in for a token), the CLI's XCTL_TOKEN, no token in the logs, and no
// open port without tokens.
#include <fstream>
#include <memory>

#include <grpcpp/grpcpp.h>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/api/auth.h"
#include "tests/server/running_xctld.h"
#include "xctl/v1/exchange_control.grpc.pb.h"
#include "xctl/v1/prices.grpc.pb.h"
#include "xctl/v1/strategy_manager.grpc.pb.h"

namespace xctl {
namespace {

using ::testing::HasSubstr;
using ::xctl::testing::BinaryPath;
using ::xctl::testing::MakeTempDir;
using ::xctl::testing::RunningXctld;
using ::xctl::testing::Subprocess;

std::unique_ptr<RunningXctld> StartWithAuth(const std::string& dir, bool anonymous_read) {
  std::ofstream(dir + "/xctl.yaml")
      << "auth:\n  anonymous_read: " << (anonymous_read ? "true" : "false")
      << "\n  tokens:\n"
      << "    - {name: admin, scope: admin, env: ADMIN_TOKEN}\n"
      << "    - {name: bot, scope: \"strategy:s1\", sha256: " << api::Sha256Hex("bot-token-5e1")
      << "}\n"
      << "price: {source: simulated, pairs: [BTC-USDT], interval_ms: 100}\n"
      << "strategies:\n"
      << "  - {id: s1, type: external, pairs: [BTC-USDT]}\n"
      << "  - {id: s2, type: external, pairs: [BTC-USDT]}\n"
      << "  - {id: tv, type: tradingview, pairs: [BTC-USDT], signal_secret_env: TV_SECRET}\n";
  auto server = std::make_unique<RunningXctld>(
      std::vector<std::string>{"--config=" + dir + "/xctl.yaml", "--log-level=debug"}, dir,
      std::vector<std::string>{"ADMIN_TOKEN=admin-token-77c", "TV_SECRET=tv-secret"});
  EXPECT_TRUE(server->ok()) << server->process().Stderr();
  return server;
}

grpc::StatusCode Place(RunningXctld& s, const std::string& strategy, const std::string& token) {
  grpc::ClientContext c;
  if (!token.empty()) c.AddMetadata("authorization", "Bearer " + token);
  v1::PlaceOrderRequest req;
  req.set_strategy_id(strategy);
  req.set_symbol("BTC-USDT");
  req.set_side(v1::SIDE_BUY);
  req.set_type(v1::ORDER_TYPE_MARKET);
  req.mutable_quantity()->set_value("1");
  v1::PlaceOrderResponse resp;
  return v1::ExchangeControl::NewStub(s.channel())->PlaceOrder(&c, req, &resp).error_code();
}

grpc::StatusCode Positions(RunningXctld& s, const std::string& strategy,
                           const std::string& token) {
  grpc::ClientContext c;
  if (!token.empty()) c.AddMetadata("authorization", "Bearer " + token);
  v1::ListPositionsRequest req;
  req.set_strategy_id(strategy);
  v1::ListPositionsResponse resp;
  return v1::ExchangeControl::NewStub(s.channel())->ListPositions(&c, req, &resp).error_code();
}

TEST(AuthE2e, TokensDecideWhoTradesAndReadsWhat) {
  const std::string dir = MakeTempDir("auth");
  auto server = StartWithAuth(dir, /*anonymous_read=*/false);
  using Code = grpc::StatusCode;
  EXPECT_EQ(Place(*server, "s1", ""), Code::UNAUTHENTICATED);
  EXPECT_EQ(Place(*server, "s1", "guess"), Code::UNAUTHENTICATED);
  EXPECT_EQ(Place(*server, "s1", "bot-token-5e1"), Code::OK);
  EXPECT_EQ(Place(*server, "s2", "bot-token-5e1"), Code::PERMISSION_DENIED);
  EXPECT_EQ(Place(*server, "s2", "admin-token-77c"), Code::OK);

  EXPECT_EQ(Positions(*server, "s1", ""), Code::UNAUTHENTICATED);
  EXPECT_EQ(Positions(*server, "", "bot-token-5e1"), Code::PERMISSION_DENIED);
  EXPECT_EQ(Positions(*server, "s1", "bot-token-5e1"), Code::OK);
  EXPECT_EQ(Positions(*server, "", "admin-token-77c"), Code::OK);

  {  // Market data: any valid token.
    grpc::ClientContext c;
    c.AddMetadata("authorization", "Bearer bot-token-5e1");
    v1::ListPricesResponse resp;
    EXPECT_TRUE(v1::PriceFeed::NewStub(server->channel())->ListPrices(&c, {}, &resp).ok());
  }
  {  // Strategy changes: admin only.
    grpc::ClientContext c;
    c.AddMetadata("authorization", "Bearer bot-token-5e1");
    v1::StopStrategyRequest req;
    req.set_id("s1");
    v1::StopStrategyResponse resp;
    grpc::Status st = v1::StrategyManager::NewStub(server->channel())->StopStrategy(&c, req, &resp);
    EXPECT_EQ(st.error_code(), Code::PERMISSION_DENIED);
    EXPECT_THAT(st.error_message(), HasSubstr("admin token"));
  }
  {  // TradingView sends no headers: the strategy's signal secret is enough.
    grpc::ClientContext c;
    v1::SubmitSignalRequest req;
    req.set_strategy_id("tv");
    req.set_action("buy");
    req.set_symbol("BTC-USDT");
    req.set_quantity("1");
    req.set_secret("tv-secret");
    v1::SubmitSignalResponse resp;
    EXPECT_TRUE(v1::StrategyManager::NewStub(server->channel())->SubmitSignal(&c, req, &resp).ok());
  }
  {  // The stream refuses too.
    grpc::ClientContext c;
    auto reader = v1::ExchangeControl::NewStub(server->channel())->StreamKpis(&c, {});
    v1::StreamKpisResponse msg;
    EXPECT_FALSE(reader->Read(&msg));
    EXPECT_EQ(reader->Finish().error_code(), Code::UNAUTHENTICATED);
  }
  // The CLI takes the token from XCTL_TOKEN.
  Subprocess with({BinaryPath("client/cli/xctl"), "--server=" + server->address(), "positions",
                   "--strategy", "s1"},
                  dir + "/cli-with", {"XCTL_TOKEN=bot-token-5e1"});
  EXPECT_EQ(with.Wait(absl::Seconds(30)), 0) << with.Stderr();
  Subprocess without({BinaryPath("client/cli/xctl"), "--server=" + server->address(),
                      "positions", "--strategy", "s1"},
                     dir + "/cli-without");
  EXPECT_EQ(without.Wait(absl::Seconds(30)), 1);
  EXPECT_THAT(without.Stderr(), HasSubstr("UNAUTHENTICATED"));

  ASSERT_EQ(server->Stop(), 0);
  const std::string logs = server->process().Stdout() + server->process().Stderr();
  EXPECT_EQ(logs.find("bot-token-5e1"), std::string::npos);
  EXPECT_EQ(logs.find("admin-token-77c"), std::string::npos);
}

TEST(AuthE2e, AnonymousReadOpensReadsButNotTrading) {
  auto server = StartWithAuth(MakeTempDir("auth-anon"), /*anonymous_read=*/true);
  EXPECT_EQ(Positions(*server, "", ""), grpc::StatusCode::OK);
  EXPECT_EQ(Place(*server, "s1", ""), grpc::StatusCode::UNAUTHENTICATED);
}

TEST(AuthE2e, WithoutTokensXctldListensOnLoopbackOnly) {
  const std::string dir = MakeTempDir("auth-open");
  Subprocess p({BinaryPath("server/xctld"), "--listen=0.0.0.0:0", "--db=sqlite:" + dir + "/x.db"},
               dir + "/xctld");
  auto exit = p.Wait(absl::Seconds(30));
  ASSERT_TRUE(exit.has_value());
  EXPECT_NE(*exit, 0);
  EXPECT_THAT(p.Stderr(), HasSubstr("no auth.tokens are configured"));
}

// TLS: xctld serves TLS with a configured certificate; the CLI connects when
// it trusts that certificate (--ca) and cannot in plaintext.
TEST(TlsE2e, TheCliTrustsTheServersCertificate) {
  const std::string dir = MakeTempDir("tls");
  ASSERT_TRUE(::xctl::testing::MakeSelfSignedCertificate(dir))
      << ::xctl::testing::ReadFile(dir + "/openssl.err");
  std::ofstream(dir + "/xctl.yaml") << "tls: {cert_file: " << dir << "/cert.pem, key_file: "
                                    << dir << "/key.pem}\n";
  RunningXctld server({"--config=" + dir + "/xctl.yaml"}, dir);
  ASSERT_FALSE(server.address().empty()) << server.process().Stderr();
  EXPECT_THAT(server.process().Stdout(), HasSubstr("event=tls_enabled"));

  Subprocess trusted({BinaryPath("client/cli/xctl"), "--server=" + server.address(),
                      "--ca=" + dir + "/cert.pem", "prices"},
                     dir + "/trusted");
  EXPECT_EQ(trusted.Wait(absl::Seconds(30)), 0) << trusted.Stderr();
  EXPECT_THAT(trusted.Stdout(), HasSubstr("BTC-USDT"));
  Subprocess plaintext({BinaryPath("client/cli/xctl"), "--server=" + server.address(),
                        "--timeout=3s", "prices"},
                       dir + "/plaintext");
  EXPECT_EQ(plaintext.Wait(absl::Seconds(30)), 1);
}

}  // namespace
}  // namespace xctl
