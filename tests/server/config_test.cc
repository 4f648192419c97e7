#include "server/config/config.h"

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/error_reason.h"

namespace xctl {
namespace {

using ::testing::HasSubstr;

TEST(ParseConfig, EmptyFileKeepsTheEmbeddedDefaults) {
  auto c = ParseConfig("", "x.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listen, "127.0.0.1:50051");
  EXPECT_EQ(c->database, "sqlite:./data/xctl.db");
  EXPECT_EQ(c->price.source, "simulated");
  EXPECT_TRUE(ValidateConfig(*c).ok());
}

// index.md "Rate Limits": 500 requests a minute per IP, then a 5-minute ban.
TEST(ParseConfig, ABlofinPollThatWouldSpendMoreThanHalfTheBudgetIsRefused) {
  auto c = ParseConfig("price: {source: blofin, interval_ms: 250}\n", "x.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  absl::Status s = ValidateConfig(*c);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), ::testing::HasSubstr("polls BloFin 240 times a minute"));
  EXPECT_THAT(s.message(), ::testing::HasSubstr("use interval_ms of at least 300"));
  c->blofin.requests_per_minute = 480;
  EXPECT_TRUE(ValidateConfig(*c).ok());
  c->blofin.requests_per_minute = 0;
  EXPECT_FALSE(ValidateConfig(*c).ok());
}

// docs/price.md, "blofin-ws": the pushed source needs a ws(s) URL, polls
// nothing (no budget check on interval_ms), and is accepted in cluster mode
// (only the price leader connects: docs/cluster.md, "Price leadership").
TEST(ParseConfig, BlofinWsReadsItsUrlAndIsCheckedWithoutTheNetwork) {
  auto c = ParseConfig(
      "price: {source: blofin-ws, interval_ms: 100, blofin_ws_url: 'ws://127.0.0.1:9/ws/public'}\n",
      "x.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->price.source, "blofin-ws");
  EXPECT_EQ(c->price.blofin_ws_url, "ws://127.0.0.1:9/ws/public");
  EXPECT_TRUE(ValidateConfig(*c).ok()) << ValidateConfig(*c);  // 100 ms would be too fast a poll
  EXPECT_EQ(ServerConfig().price.blofin_ws_url, "wss://openapi.blofin.com/ws/public");
  c->price.blofin_ws_url = "https://openapi.blofin.com/ws/public";
  EXPECT_THAT(ValidateConfig(*c).message(), HasSubstr("must start with wss://"));
  c->price.blofin_ws_url = "wss://openapi.blofin.com/ws/public";
  c->price.blofin_url = "ftp://x";
  EXPECT_THAT(ValidateConfig(*c).message(), HasSubstr("blofin url"));
  c->price.blofin_url = "https://openapi.blofin.com";
  c->price.source = "blofin-rest";
  EXPECT_THAT(ValidateConfig(*c).message(),
              HasSubstr("not one of simulated, blofin, blofin-ws, replay"));
  c->price.source = "blofin-ws";
  c->database = "postgresql://u:p@db/x";
  c->cluster.nats_url = "nats://127.0.0.1:4222";
  EXPECT_TRUE(ValidateConfig(*c).ok()) << ValidateConfig(*c);
}

TEST(ParseConfig, ReadsEverySection) {
  auto c = ParseConfig(R"(
listen: 0.0.0.0:6000
database: postgresql://u:p@db:5432/xctl
log_level: debug
price:
  source: blofin
  pairs: [BTC-USDT, SOL-USDT]
  interval_ms: 250
  stale_after_intervals: 3
  blofin_url: http://127.0.0.1:9999
blofin:
  requests_per_minute: 480
strategies:
  - id: sma-btc
    type: sma_cross
    pairs: BTC-USDT
    params: {fast: 5, slow: 20}
    starting_balance: "2500.5"
    start: false
  - id: tv
    type: tradingview
    signal_secret_env: TV_SECRET
    credentials_env: {api_key: K, api_secret: S, passphrase: P}
)", "x.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listen, "0.0.0.0:6000");
  EXPECT_EQ(c->log_level, "debug");
  EXPECT_EQ(c->price.source, "blofin");
  EXPECT_THAT(c->price.pairs, ::testing::ElementsAre("BTC-USDT", "SOL-USDT"));
  EXPECT_EQ(c->price.interval_ms, 250);
  EXPECT_EQ(c->price.stale_after_intervals, 3);
  EXPECT_EQ(c->blofin.requests_per_minute, 480);
  ASSERT_EQ(c->strategies.size(), 2u);
  EXPECT_EQ(c->strategies[0].name, "sma-btc");  // defaults to the id
  EXPECT_THAT(c->strategies[0].pairs, ::testing::ElementsAre("BTC-USDT"));
  EXPECT_EQ(c->strategies[0].params.at("slow"), "20");
  EXPECT_EQ(c->strategies[0].starting_balance, "2500.5");
  EXPECT_FALSE(c->strategies[0].start);
  ASSERT_TRUE(c->strategies[1].credentials_env.has_value());
  EXPECT_EQ(c->strategies[1].credentials_env->api_secret, "S");
  EXPECT_TRUE(ValidateConfig(*c).ok()) << ValidateConfig(*c);
}

TEST(ParseConfig, UnknownKeysAreNamedWithTheKnownOnes) {
  auto c = ParseConfig("price:\n  intervall_ms: 5\n", "cfg.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("cfg.yaml: unknown key \"intervall_ms\""));
  EXPECT_THAT(c.status().message(), HasSubstr("in price"));
  EXPECT_THAT(c.status().message(), HasSubstr("interval_ms"));
}

TEST(ParseConfig, WrongTypesSayWhatIsExpected) {
  auto a = ParseConfig("price:\n  interval_ms: soon\n", "c.yaml");
  ASSERT_FALSE(a.ok());
  EXPECT_THAT(a.status().message(), HasSubstr("\"price.interval_ms\": expected a whole number"));
  auto b = ParseConfig("strategies: {}\n", "c.yaml");
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(b.status().message(), HasSubstr("expected a list of strategies"));
  auto d = ParseConfig("listen: [1, 2]\n", "c.yaml");
  ASSERT_FALSE(d.ok());
  auto e = ParseConfig("listen: [1, 2\n", "c.yaml");
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(e.status().message(), HasSubstr("not valid YAML"));
}

StrategyConfig St(std::string id, std::string type, std::vector<std::string> pairs = {},
                  std::string balance = "10000") {
  StrategyConfig s;
  s.id = std::move(id);
  s.type = std::move(type);
  s.pairs = std::move(pairs);
  s.starting_balance = std::move(balance);
  return s;
}

TEST(ValidateConfig, RefusesBadValues) {
  ServerConfig c;
  c.listen = "localhost";
  EXPECT_THAT(ValidateConfig(c).message(), HasSubstr("HOST:PORT"));
  c = ServerConfig();
  c.database = "mysql://x";
  EXPECT_THAT(ValidateConfig(c).message(), HasSubstr("unsupported URL"));
  c = ServerConfig();
  c.log_level = "loud";
  EXPECT_THAT(ValidateConfig(c).message(), HasSubstr("log_level"));
  c = ServerConfig();
  c.strategies.push_back(St("Bad Id", "sma_cross"));
  EXPECT_THAT(ValidateConfig(c).message(), HasSubstr("invalid strategy id"));
  c = ServerConfig();
  c.strategies.push_back(St("a", "sma_cross", {"btcusdt"}));
  EXPECT_THAT(ValidateConfig(c).message(), HasSubstr("invalid symbol"));
  c = ServerConfig();
  c.strategies.push_back(St("a", "x"));
  c.strategies.push_back(St("a", "x"));
  EXPECT_THAT(ValidateConfig(c).message(), HasSubstr("appears twice"));
  c = ServerConfig();
  c.strategies.push_back(St("a", "x", {}, "-5"));
  EXPECT_THAT(ValidateConfig(c).message(), HasSubstr("must not be negative"));
  // A maker rebate is a negative maker rate above -1 (found by config_fuzz).
  c = ServerConfig();
  c.strategies.push_back(St("a", "x"));
  c.strategies.back().maker_fee_rate = "-0.0002";
  EXPECT_TRUE(ValidateConfig(c).ok());
  c.strategies.back().maker_fee_rate = "-5.0002";
  EXPECT_THAT(ValidateConfig(c).message(), HasSubstr("maker_fee_rate must be above -1"));
}

TEST(ParseConfig, ReadsBlofinInstrumentsAndKeyFile) {
  auto c = ParseConfig(R"(
key_file: /var/lib/xctl/key
blofin:
  url: https://demo-trading-openapi.blofin.com
  timeout_ms: 2500
  ws_ping_after_ms: 1000
  load_instruments: true
instruments:
  - {symbol: PEPE-USDT, contract_value: "1000", lot_size: "1", min_size: "1", tick_size: "0.0000001"}
)", "x.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->key_file, "/var/lib/xctl/key");
  EXPECT_EQ(c->blofin.url, "https://demo-trading-openapi.blofin.com");
  EXPECT_EQ(c->blofin.timeout_ms, 2500);
  EXPECT_EQ(c->blofin.ws_ping_after_ms, 1000);
  EXPECT_TRUE(c->blofin.load_instruments);
  ASSERT_EQ(c->instruments.size(), 1u);
  EXPECT_EQ(c->instruments[0].contract_value, "1000");
  EXPECT_EQ(c->instruments[0].max_leverage, "100");
  EXPECT_TRUE(ValidateConfig(*c).ok()) << ValidateConfig(*c);
  ServerConfig silent = *c;
  silent.blofin.ws_ping_after_ms = 25'000;  // BloFin would close it first (30 s)
  EXPECT_THAT(std::string(ValidateConfig(silent).message()),
              HasSubstr("blofin.ws_ping_after_ms: must be from 1000 to 20000"));
  auto unknown = ParseConfig("blofin:\n  secret: x\n", "x.yaml");
  EXPECT_THAT(unknown.status().message(), HasSubstr("unknown key \"secret\""));
}

TEST(ValidateConfig, RefusesPlainHttpBlofinAndBadInstruments) {
  ServerConfig c;
  c.blofin.url = "http://openapi.blofin.com";
  EXPECT_THAT(ValidateConfig(c).message(), HasSubstr("must be https://"));
  c = ServerConfig();
  c.blofin.url = "http://127.0.0.1:8080";
  EXPECT_TRUE(ValidateConfig(c).ok());
  c.instruments.push_back({.symbol = "PEPE-USDT", .tick_size = "0"});
  EXPECT_THAT(ValidateConfig(c).message(), HasSubstr("PEPE-USDT.tick_size must be a number > 0"));
}

TEST(ParseConfig, ReadsTheClusterSection) {
  auto c = ParseConfig(R"(
database: postgresql://u:p@db:5432/xctl
price: {interval_ms: 200}
cluster:
  nats_url: nats://127.0.0.1:4222
  node_id: node-a
  publish_per_pair: true
)", "x.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->cluster.enabled());
  EXPECT_EQ(c->cluster.nats_url, "nats://127.0.0.1:4222");
  EXPECT_EQ(c->cluster.node_id, "node-a");
  EXPECT_TRUE(c->cluster.publish_per_pair);
  EXPECT_EQ(c->cluster.lease_ttl_ms, 0);
  EXPECT_TRUE(ValidateConfig(*c).ok()) << ValidateConfig(*c);
  // Derived TTL: 1.5 x interval, at least 300 ms.
  EXPECT_EQ(EffectiveLeaseTtlMs(*c), 300);
  c->price.interval_ms = 1000;
  EXPECT_EQ(EffectiveLeaseTtlMs(*c), 1500);
  c->cluster.lease_ttl_ms = 5000;
  EXPECT_EQ(EffectiveLeaseTtlMs(*c), 5000);
  // Off by default.
  EXPECT_FALSE(ParseConfig("", "x.yaml")->cluster.enabled());
}

TEST(ParseConfig, ClusterStrategyLeaseTtlIsReadAndDerived) {
  auto c = ParseConfig(R"(
database: postgresql://u:p@db:5432/xctl
price: {interval_ms: 200}
cluster: {nats_url: "nats://127.0.0.1:4222", strategy_lease_ttl_ms: 1200}
)", "x.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->cluster.strategy_lease_ttl_ms, 1200);
  EXPECT_TRUE(ValidateConfig(*c).ok()) << ValidateConfig(*c);
  EXPECT_EQ(EffectiveStrategyLeaseTtlMs(*c), 1200);
  // Unset: max(price-leader ttl, 3 s).
  c->cluster.strategy_lease_ttl_ms = 0;
  EXPECT_EQ(EffectiveStrategyLeaseTtlMs(*c), 3000);
  c->cluster.lease_ttl_ms = 8000;
  EXPECT_EQ(EffectiveStrategyLeaseTtlMs(*c), 8000);
  c->cluster.strategy_lease_ttl_ms = 299;
  EXPECT_THAT(ValidateConfig(*c).message(), HasSubstr("cluster.strategy_lease_ttl_ms"));
}

// cluster.advertise_address (docs/cluster.md, "Forwarding"): read, and
// refused unless HOST:PORT with a port in 1..65535.
TEST(ParseConfig, ClusterAdvertiseAddressIsReadAndChecked) {
  auto c = ParseConfig(R"(
database: postgresql://u:p@db:5432/xctl
cluster: {nats_url: "nats://127.0.0.1:4222", advertise_address: "xctl-2.internal:50051"}
)", "x.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->cluster.advertise_address, "xctl-2.internal:50051");
  EXPECT_TRUE(ValidateConfig(*c).ok()) << ValidateConfig(*c);
  c->cluster.advertise_address = "[fd00::2]:50051";
  EXPECT_TRUE(ValidateConfig(*c).ok()) << ValidateConfig(*c);
  for (const char* bad : {"xctl-2", "xctl-2:", ":50051", "xctl-2:0", "xctl-2:70000",
                          "xctl 2:50051", "xctl-2:port"}) {
    c->cluster.advertise_address = bad;
    absl::Status s = ValidateConfig(*c);
    EXPECT_THAT(s.message(), HasSubstr("cluster.advertise_address: expected HOST:PORT")) << bad;
    EXPECT_THAT(s.message(), HasSubstr(bad)) << bad;
  }
  c->cluster.advertise_address = "";  // derived from the listen address
  EXPECT_TRUE(ValidateConfig(*c).ok());
}

TEST(ParseConfig, ClusterUnknownKeyIsNamed) {
  auto c = ParseConfig("cluster: {nats: nats://x:4222}\n", "x.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("unknown key \"nats\""));
  EXPECT_THAT(c.status().message(), HasSubstr("nats_url"));
}

TEST(ValidateConfig, ClusterNeedsPostgresqlAndValidSettings) {
  ServerConfig c;
  c.cluster.nats_url = "nats://127.0.0.1:4222";
  absl::Status s = ValidateConfig(c);  // default database: SQLite
  EXPECT_THAT(s.message(), HasSubstr("cluster mode needs a PostgreSQL database"));
  EXPECT_THAT(s.message(), HasSubstr("sqlite:./data/xctl.db"));
  c.database = "postgresql://u:secret@db/x";
  EXPECT_TRUE(ValidateConfig(c).ok());
  c.cluster.nats_url = "http://127.0.0.1:4222";
  EXPECT_THAT(ValidateConfig(c).message(), HasSubstr("cluster.nats_url"));
  c.cluster.nats_url = "nats://a:4222,nats://b:4222";
  EXPECT_TRUE(ValidateConfig(c).ok());
  c.cluster.node_id = "has space";
  EXPECT_THAT(ValidateConfig(c).message(), HasSubstr("cluster.node_id"));
  c.cluster.node_id = "";
  c.cluster.lease_ttl_ms = 100;
  EXPECT_THAT(ValidateConfig(c).message(), HasSubstr("cluster.lease_ttl_ms"));
}

// Live strategies in cluster mode: a BloFin call is sent only with
// blofin.timeout_ms left on the lease, which between renewals falls to
// 0.57 x ttl, so the ttl must be at least 1.8 x the timeout
// (docs/cluster.md, "Fencing").
TEST(ValidateConfig, ClusterWithLiveStrategiesNeedsALeaseTtlOfAtLeastTwiceTheBlofinTimeout) {
  ServerConfig c;
  c.database = "postgresql://u:p@db/x";
  c.cluster.nats_url = "nats://127.0.0.1:4222";
  c.strategies.push_back(StrategyConfig{.id = "paper1", .type = "sma_cross"});
  c.blofin.timeout_ms = 5000;
  c.cluster.strategy_lease_ttl_ms = 1500;
  EXPECT_TRUE(ValidateConfig(c).ok()) << "paper strategies make no BloFin call";
  c.strategies.push_back(StrategyConfig{.id = "live1", .type = "external",
                                        .credentials_env = CredentialsEnv{"K", "S", "P"}});
  absl::Status s = ValidateConfig(c);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(s), reason::kLeaseTtlTooShort);
  EXPECT_THAT(s.message(), HasSubstr("cluster.strategy_lease_ttl_ms is 1500 ms"));
  EXPECT_THAT(s.message(), HasSubstr("blofin.timeout_ms"));
  EXPECT_THAT(s.message(), HasSubstr("\"live1\""));
  EXPECT_THAT(s.message(), HasSubstr("9000 ms"));
  c.cluster.strategy_lease_ttl_ms = 8999;
  EXPECT_EQ(ReasonOf(ValidateConfig(c)), reason::kLeaseTtlTooShort);
  c.cluster.strategy_lease_ttl_ms = 9000;  // exactly 1.8 x
  EXPECT_TRUE(ValidateConfig(c).ok());
  c.blofin.timeout_ms = 5001;
  EXPECT_EQ(ReasonOf(ValidateConfig(c)), reason::kLeaseTtlTooShort);
  // The derived ttl (0: max(lease ttl, 3000)) counts too.
  c.blofin.timeout_ms = 1000;
  c.cluster.strategy_lease_ttl_ms = 0;
  EXPECT_TRUE(ValidateConfig(c).ok());  // 3000 >= 1800
  c.blofin.timeout_ms = 2000;
  s = ValidateConfig(c);
  EXPECT_THAT(s.message(), HasSubstr("3000 ms (derived: it is 0)"));
  // Without cluster mode nothing is checked.
  c.cluster.nats_url = "";
  EXPECT_TRUE(ValidateConfig(c).ok());
}

TEST(ParseConfig, ReadsTheConnectionsSection) {
  auto c = ParseConfig(
      "connections: {max_streams_per_connection: 10, handshake_timeout_ms: 5000, "
      "max_age_grace_ms: 0, fd_reserve: 64, watchdog_interval_ms: 1000, watchdog_failures: 5}\n",
      "x.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->connections.max_streams_per_connection, 10);
  EXPECT_EQ(c->connections.handshake_timeout_ms, 5000);
  EXPECT_EQ(c->connections.fd_reserve, 64);
  EXPECT_EQ(c->connections.watchdog_interval_ms, 1000);
  EXPECT_EQ(c->connections.watchdog_failures, 5);
  EXPECT_EQ(c->connections.max_idle_ms, 300'000);  // the default
  EXPECT_TRUE(ValidateConfig(*c).ok());
  EXPECT_THAT(ParseConfig("connections: {max_idle: 1}\n", "x.yaml").status().message(),
              HasSubstr("max_idle"));
}

TEST(ValidateConfig, ConnectionLimitsMustBePositive) {
  ServerConfig c;
  c.connections.max_idle_ms = 0;
  EXPECT_THAT(ValidateConfig(c).message(), HasSubstr("connections.max_idle_ms: must be > 0"));
  c = ServerConfig();
  c.connections.fd_reserve = -1;
  EXPECT_THAT(ValidateConfig(c).message(), HasSubstr("connections.fd_reserve: must be >= 0"));
  c = ServerConfig();
  c.connections.watchdog_failures = 0;
  EXPECT_THAT(ValidateConfig(c).message(), HasSubstr("watchdog_failures: must be > 0"));
  c.connections.watchdog_interval_ms = 0;  // the watchdog off: its other settings do not matter
  EXPECT_TRUE(ValidateConfig(c).ok());
}

TEST(ValidateConfig, TokensOffLoopbackNeedTlsOrAnExplicitAllowance) {
  ServerConfig c;
  c.auth.tokens.push_back({.name = "admin", .scope = "admin", .sha256 = std::string(64, 'a')});
  EXPECT_TRUE(ValidateConfig(c).ok());  // loopback
  c.listen = "0.0.0.0:50051";
  EXPECT_THAT(ValidateConfig(c).message(), HasSubstr("tokens cross the network in clear"));
  c.tls = {.cert_file = "server.crt", .key_file = "server.key"};
  EXPECT_TRUE(ValidateConfig(c).ok());
  c.tls = {};
  c.auth.allow_insecure_tokens = true;
  EXPECT_TRUE(ValidateConfig(c).ok());
  EXPECT_TRUE(IsLoopbackListen("[::1]:1"));
  EXPECT_FALSE(IsLoopbackListen("[::]:1"));
}

TEST(RedactUrl, HidesPasswordsInEveryForm) {
  EXPECT_EQ(RedactUrl("postgresql://xctl:s3cret@127.0.0.1:5432/xctl"),
            "postgresql://xctl:***@127.0.0.1:5432/xctl");
  EXPECT_EQ(RedactUrl("postgresql://h/db?user=x&password=s3cret&sslmode=require"),
            "postgresql://h/db?user=x&password=***&sslmode=require");
  EXPECT_EQ(RedactUrl("postgresql://xctl@h/db"), "postgresql://xctl@h/db");
  EXPECT_EQ(RedactUrl("sqlite:./data/xctl.db"), "sqlite:./data/xctl.db");
}

}  // namespace
}  // namespace xctl
