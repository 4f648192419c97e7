// StrategyManagerService over real gRPC on loopback (SQLite store, fake
// exchange control): conversions both ways, field-named input errors, the
// manager's error codes, and that credentials never come back. The server
// also holds a callback-API service, as xctld does (PriceFeed), to show that
// sync and callback services serve side by side.
#include "server/api/strategy_manager_service.h"
#include "server/api/auth.h"

#include <grpcpp/grpcpp.h>

#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "xctl/v1/prices.grpc.pb.h"
#include "tests/strategy/fake_trading.h"
#include "tests/support/test_databases.h"

namespace xctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::xctl::testing::FakeTrading;
using ::xctl::testing::TestDatabase;

constexpr char kKey[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

class StrategyManagerServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::make_unique<TestDatabase>("sqlite");
    store_ = Store::Open({.url = db_->url()}).value();
    ASSERT_TRUE(RegisterBuiltinStrategies(registry_).ok());
    cipher_ = CredentialsCipher::FromBase64Key(kKey).value();
    manager_ = std::make_unique<StrategyManager>(store_.get(), &trading_, nullptr, &registry_,
                                                 cipher_.get(), &clock_);
    ASSERT_TRUE(manager_->Start({}).ok());
    service_ = std::make_unique<api::StrategyManagerService>(*manager_);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(service_.get());
    builder.RegisterService(&callback_service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port_),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::StrategyManager::NewStub(channel_);
  }
  void TearDown() override {
    if (server_) {
      server_->Shutdown();
      server_->Wait();
    }
  }

  v1::CreateStrategyRequest TradingViewRequest() {
    v1::CreateStrategyRequest req;
    v1::Strategy* s = req.mutable_strategy();
    s->set_id("tv");
    s->set_name("Alerts");
    s->set_type("tradingview");
    s->add_pairs("BTC-USDT");
    s->mutable_starting_balance()->set_value("2500.5");
    s->mutable_taker_fee_rate()->set_value("0.0005");
    req.mutable_credentials()->set_api_key("key-AKIA1234");
    req.mutable_credentials()->set_api_secret("secret-s3cr3t-value");
    req.mutable_credentials()->set_passphrase("pass-phrase-42");
    req.set_signal_secret("s3");
    req.set_start(true);
    return req;
  }

  static void ExpectNoSecrets(const google::protobuf::Message& m) {
    std::string bytes = m.SerializeAsString();
    for (const char* secret : {"key-AKIA1234", "secret-s3cr3t-value", "pass-phrase-42"}) {
      EXPECT_THAT(bytes, Not(HasSubstr(secret)));
    }
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<Store> store_;
  StrategyRegistry registry_;
  std::unique_ptr<CredentialsCipher> cipher_;
  FakeClock clock_;
  FakeTrading trading_;
  std::unique_ptr<StrategyManager> manager_;
  std::unique_ptr<api::StrategyManagerService> service_;
  // A callback-API service with no methods implemented (UNIMPLEMENTED).
  v1::PriceFeed::CallbackService callback_service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::StrategyManager::Stub> stub_;
};

TEST_F(StrategyManagerServiceTest, CreateReturnsTheStrategyWithoutCredentials) {
  grpc::ClientContext ctx;
  v1::CreateStrategyResponse resp;
  grpc::Status s = stub_->CreateStrategy(&ctx, TradingViewRequest(), &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const v1::Strategy& st = resp.strategy();
  EXPECT_EQ(st.id(), "tv");
  EXPECT_EQ(st.name(), "Alerts");
  EXPECT_EQ(st.type(), "tradingview");
  EXPECT_EQ(st.mode(), v1::TRADING_MODE_LIVE);
  EXPECT_EQ(st.status(), v1::STRATEGY_STATUS_RUNNING);
  EXPECT_THAT(st.pairs(), ElementsAre("BTC-USDT"));
  EXPECT_EQ(st.starting_balance().value(), "2500.5");
  EXPECT_EQ(st.leverage().value(), "1");
  EXPECT_EQ(st.taker_fee_rate().value(), "0.0005");
  EXPECT_FALSE(st.has_maker_fee_rate());
  EXPECT_TRUE(st.has_credentials());
  EXPECT_TRUE(st.has_signal_secret());
  EXPECT_EQ(st.create_time().seconds(), clock_.NowMillis() / 1000);
  ExpectNoSecrets(resp);
  ASSERT_TRUE(trading_.upserts_of("tv").at(0).credentials.has_value());
  EXPECT_EQ(trading_.upserts_of("tv").at(0).credentials->api_key.value(), "key-AKIA1234");

  grpc::ClientContext list_ctx;
  v1::ListStrategiesResponse list;
  ASSERT_TRUE(stub_->ListStrategies(&list_ctx, {}, &list).ok());
  ASSERT_EQ(list.strategies_size(), 1);
  ExpectNoSecrets(list);
}

TEST_F(StrategyManagerServiceTest, InputErrorsNameTheField) {
  auto create = [&](v1::CreateStrategyRequest req) {
    grpc::ClientContext ctx;
    v1::CreateStrategyResponse resp;
    return stub_->CreateStrategy(&ctx, req, &resp);
  };
  grpc::Status s = create(v1::CreateStrategyRequest());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "strategy is required");

  v1::CreateStrategyRequest bad_balance = TradingViewRequest();
  bad_balance.mutable_strategy()->mutable_starting_balance()->set_value("1e4");
  s = create(bad_balance);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("strategy.starting_balance: "));

  v1::CreateStrategyRequest bad_id = TradingViewRequest();
  bad_id.mutable_strategy()->set_id("TV!");
  s = create(bad_id);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("strategy.id: invalid strategy id \"TV!\""));

  grpc::ClientContext get_ctx;
  v1::GetStrategyResponse got;
  s = stub_->GetStrategy(&get_ctx, v1::GetStrategyRequest(), &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "id is required");

  grpc::ClientContext list_ctx;
  v1::ListStrategiesRequest list_req;
  list_req.set_status(static_cast<v1::StrategyStatus>(42));
  v1::ListStrategiesResponse list;
  s = stub_->ListStrategies(&list_ctx, list_req, &list);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "status: unknown value 42; one of STRATEGY_STATUS_UNSPECIFIED (all), "
            "STRATEGY_STATUS_STOPPED, STRATEGY_STATUS_RUNNING, STRATEGY_STATUS_FAILED");
  EXPECT_TRUE(trading_.upserts().empty());
}

TEST_F(StrategyManagerServiceTest, UpdateWithFieldMaskAndCredentialsSwitch) {
  {
    grpc::ClientContext ctx;
    v1::CreateStrategyResponse resp;
    v1::CreateStrategyRequest req = TradingViewRequest();
    req.clear_credentials();
    ASSERT_TRUE(stub_->CreateStrategy(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.strategy().mode(), v1::TRADING_MODE_PAPER);
  }
  v1::UpdateStrategyRequest req;
  req.mutable_strategy()->set_id("tv");
  req.mutable_strategy()->set_name("Renamed");
  req.mutable_strategy()->add_pairs("ETH-USDT");  // not in the mask
  req.mutable_update_mask()->add_paths("name");
  req.mutable_credentials()->set_api_key("key-AKIA1234");
  req.mutable_credentials()->set_api_secret("secret-s3cr3t-value");
  req.mutable_credentials()->set_passphrase("pass-phrase-42");
  grpc::ClientContext ctx;
  v1::UpdateStrategyResponse resp;
  grpc::Status s = stub_->UpdateStrategy(&ctx, req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.strategy().name(), "Renamed");
  EXPECT_THAT(resp.strategy().pairs(), ElementsAre("BTC-USDT"));
  EXPECT_EQ(resp.strategy().mode(), v1::TRADING_MODE_LIVE);
  ExpectNoSecrets(resp);

  v1::UpdateStrategyRequest clear;
  clear.mutable_strategy()->set_id("tv");
  clear.set_clear_credentials(true);
  grpc::ClientContext clear_ctx;
  ASSERT_TRUE(stub_->UpdateStrategy(&clear_ctx, clear, &resp).ok());
  EXPECT_EQ(resp.strategy().mode(), v1::TRADING_MODE_PAPER);
  EXPECT_FALSE(resp.strategy().has_credentials());

  v1::UpdateStrategyRequest bad_path;
  bad_path.mutable_strategy()->set_id("tv");
  bad_path.mutable_update_mask()->add_paths("strategy.name");
  grpc::ClientContext bad_ctx;
  s = stub_->UpdateStrategy(&bad_ctx, bad_path, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("update_mask: cannot update \"strategy.name\""));
}

TEST_F(StrategyManagerServiceTest, LifecycleAndSignalsKeepTheManagersCodes) {
  {
    grpc::ClientContext ctx;
    v1::CreateStrategyResponse resp;
    ASSERT_TRUE(stub_->CreateStrategy(&ctx, TradingViewRequest(), &resp).ok());
  }
  v1::SubmitSignalRequest signal;
  signal.set_strategy_id("tv");
  signal.set_action("buy");
  signal.set_symbol("BTC-USDT");
  signal.set_quantity("0.5");
  signal.set_secret("s3");
  signal.set_client_order_id("alert-7");
  {
    grpc::ClientContext ctx;
    v1::SubmitSignalResponse resp;
    grpc::Status s = stub_->SubmitSignal(&ctx, signal, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.order().client_order_id(), "alert-7");
    EXPECT_EQ(resp.order().quantity().value(), "0.5");
    EXPECT_EQ(resp.order().side(), v1::SIDE_BUY);
    ASSERT_EQ(resp.fills_size(), 1);
    EXPECT_FALSE(resp.replayed());
  }
  {
    v1::SubmitSignalRequest wrong = signal;
    wrong.set_secret("guess");
    grpc::ClientContext ctx;
    v1::SubmitSignalResponse resp;
    grpc::Status s = stub_->SubmitSignal(&ctx, wrong, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(s.error_message(), "signal secret does not match");
  }
  {
    v1::StopStrategyRequest req;
    req.set_id("tv");
    grpc::ClientContext ctx;
    v1::StopStrategyResponse resp;
    ASSERT_TRUE(stub_->StopStrategy(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.strategy().status(), v1::STRATEGY_STATUS_STOPPED);
  }
  {
    grpc::ClientContext ctx;
    v1::SubmitSignalResponse resp;
    EXPECT_EQ(stub_->SubmitSignal(&ctx, signal, &resp).error_code(),
              grpc::StatusCode::FAILED_PRECONDITION);
  }
  {
    v1::ListStrategiesRequest req;
    req.set_status(v1::STRATEGY_STATUS_STOPPED);
    req.set_mode(v1::TRADING_MODE_LIVE);
    grpc::ClientContext ctx;
    v1::ListStrategiesResponse resp;
    ASSERT_TRUE(stub_->ListStrategies(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.strategies_size(), 1);
    EXPECT_EQ(resp.strategies(0).id(), "tv");
  }
  {
    v1::DeleteStrategyRequest req;
    req.set_id("tv");
    grpc::ClientContext ctx;
    v1::DeleteStrategyResponse resp;
    grpc::Status s = stub_->DeleteStrategy(&ctx, req, &resp);
    // The buy above left a position open.
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_THAT(s.error_message(), HasSubstr("open positions or resting orders"));
  }
  {
    v1::StartStrategyRequest req;
    req.set_id("ghost");
    grpc::ClientContext ctx;
    v1::StartStrategyResponse resp;
    grpc::Status s = stub_->StartStrategy(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(s.error_message(), "strategy \"ghost\" not found");
  }
}

TEST_F(StrategyManagerServiceTest, CallbackServiceServesBesideTheSyncOne) {
  auto prices = v1::PriceFeed::NewStub(channel_);
  grpc::ClientContext ctx;
  v1::GetPriceResponse resp;
  grpc::Status s = prices->GetPrice(&ctx, {}, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  // ... and the sync service still answers on the same server.
  grpc::ClientContext list_ctx;
  v1::ListStrategiesResponse list;
  EXPECT_TRUE(stub_->ListStrategies(&list_ctx, {}, &list).ok());
}

// Guessing tokens and signal secrets over loopback (docs/security.md): after
// kMaxAuthFailures failures in kAuthFailureWindow from one address, every
// call from it is RESOURCE_EXHAUSTED, the right secret included, until the
// window has passed (the FakeClock is moved, nothing sleeps).
class AuthLimitTest : public StrategyManagerServiceTest {
 protected:
  void SetUp() override {
    StrategyManagerServiceTest::SetUp();
    AuthConfig config;
    config.tokens.push_back({.name = "admin", .scope = "admin",
                             .sha256 = api::Sha256Hex("admin-token-5f")});
    auth_ = std::make_unique<api::Authorizer>(api::Authorizer::Create(config, &clock_).value());
    authed_ = std::make_unique<api::StrategyManagerService>(*manager_, auth_.get());
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &authed_port_);
    builder.RegisterService(authed_.get());
    authed_server_ = builder.BuildAndStart();
    ASSERT_NE(authed_server_, nullptr);
    authed_stub_ = v1::StrategyManager::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(authed_port_), grpc::InsecureChannelCredentials()));
    v1::CreateStrategyRequest create = TradingViewRequest();
    create.clear_credentials();
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer admin-token-5f");
    v1::CreateStrategyResponse resp;
    ASSERT_TRUE(authed_stub_->CreateStrategy(&ctx, create, &resp).ok());
  }
  void TearDown() override {
    if (authed_server_) {
      authed_server_->Shutdown();
      authed_server_->Wait();
    }
    StrategyManagerServiceTest::TearDown();
  }

  grpc::Status Signal(const std::string& secret, const std::string& forwarded_for = "") {
    v1::SubmitSignalRequest req;
    req.set_strategy_id("tv");
    req.set_action("buy");
    req.set_symbol("BTC-USDT");
    req.set_quantity("1");
    req.set_secret(secret);
    grpc::ClientContext ctx;
    if (!forwarded_for.empty()) ctx.AddMetadata("x-forwarded-for", forwarded_for);
    v1::SubmitSignalResponse resp;
    return authed_stub_->SubmitSignal(&ctx, req, &resp);
  }

  grpc::Status List(const std::string& token, const std::string& forwarded_for = "") {
    grpc::ClientContext ctx;
    if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
    if (!forwarded_for.empty()) ctx.AddMetadata("x-forwarded-for", forwarded_for);
    v1::ListStrategiesResponse resp;
    return authed_stub_->ListStrategies(&ctx, {}, &resp);
  }

  std::unique_ptr<api::Authorizer> auth_;
  std::unique_ptr<api::StrategyManagerService> authed_;
  int authed_port_ = 0;
  std::unique_ptr<grpc::Server> authed_server_;
  std::unique_ptr<v1::StrategyManager::Stub> authed_stub_;
};

TEST_F(AuthLimitTest, GuessedSignalSecretsAreCutOffPerAddressUntilTheWindowPasses) {
  for (int i = 0; i < api::kMaxAuthFailures; ++i) {
    EXPECT_EQ(Signal("guess" + std::to_string(i)).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  // Blocked: even the right secret (the guesser learns nothing more).
  grpc::Status blocked = Signal("s3");
  EXPECT_EQ(blocked.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(blocked.error_message(),
              HasSubstr("too many failed authentications from this address (10 within 60 s)"));
  EXPECT_THAT(blocked.error_message(), HasSubstr("wait 60 s"));
  EXPECT_TRUE(trading_.orders().empty());
  clock_.Advance(absl::Seconds(30));
  EXPECT_THAT(Signal("s3").error_message(), HasSubstr("wait 30 s"));
  clock_.Advance(absl::Seconds(30));
  grpc::Status ok = Signal("s3");
  EXPECT_TRUE(ok.ok()) << ok.error_message();
  // One more failure blocks again only with nine others in the window.
  EXPECT_EQ(Signal("guess").error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(List("admin-token-5f").error_code(), grpc::StatusCode::OK);
}

TEST_F(AuthLimitTest, GuessedTokensAreCutOffButMissingOnesDoNotCount) {
  for (int i = 0; i < 3 * api::kMaxAuthFailures; ++i) {
    EXPECT_EQ(List("").error_code(), grpc::StatusCode::UNAUTHENTICATED);  // no token: no guess
  }
  EXPECT_EQ(List("admin-token-5f").error_code(), grpc::StatusCode::OK);
  for (int i = 0; i < api::kMaxAuthFailures; ++i) {
    EXPECT_EQ(List("wrong-" + std::to_string(i)).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  grpc::Status blocked = List("admin-token-5f");
  EXPECT_EQ(blocked.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(blocked.error_message(), HasSubstr("too many failed authentications"));
  EXPECT_EQ(Signal("s3").error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  clock_.Advance(api::kAuthFailureWindow);
  EXPECT_EQ(List("admin-token-5f").error_code(), grpc::StatusCode::OK);
}

TEST_F(AuthLimitTest, BehindTheGatewayTheForwardedAddressIsCountedNotTheGateway) {
  // The gateway on loopback adds the client's address last to X-Forwarded-For.
  for (int i = 0; i < api::kMaxAuthFailures; ++i) {
    EXPECT_EQ(Signal("guess", "203.0.113.7").error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  EXPECT_EQ(Signal("s3", "203.0.113.7").error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  // What the client put before it is not trusted: still the same address.
  EXPECT_EQ(Signal("s3", "198.51.100.1, 203.0.113.7").error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  {  // A client-sent x-forwarded-for comes first; the gateway's own is last.
    v1::SubmitSignalRequest req;
    req.set_strategy_id("tv");
    req.set_action("buy");
    req.set_symbol("BTC-USDT");
    req.set_quantity("1");
    req.set_secret("s3");
    grpc::ClientContext ctx;
    ctx.AddMetadata("x-forwarded-for", "52.89.214.238");
    ctx.AddMetadata("x-forwarded-for", "203.0.113.7");
    v1::SubmitSignalResponse resp;
    EXPECT_EQ(authed_stub_->SubmitSignal(&ctx, req, &resp).error_code(),
              grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
  // TradingView's alerts, from elsewhere, still go through the same gateway.
  grpc::Status other = Signal("s3", "52.89.214.238");
  EXPECT_TRUE(other.ok()) << other.error_message();
  EXPECT_EQ(List("admin-token-5f").error_code(), grpc::StatusCode::OK);
}

}  // namespace
}  // namespace xctl
