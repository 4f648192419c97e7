// ServerConfig: everything xctld is told at start, from a YAML file and from
// flags that override it. Parsing is strict: an unknown key, a value of the
// wrong type or an invalid value is an error that names the file, the key and
// what is expected. This module only parses and validates; it opens nothing.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/common/log.h"  // RedactUrl
#include "server/price/price_config.h"

namespace xctl {

// The environment variables that hold a live strategy's BloFin credentials
// (the config file never holds secrets itself).
struct CredentialsEnv {
  std::string api_key;
  std::string api_secret;
  std::string passphrase;
};

// A strategy declared in the config file. Created in the database at start if
// it is not there yet; the database is the source of truth afterwards.
struct StrategyConfig {
  std::string id;
  std::string name;
  std::string type;
  std::vector<std::string> pairs;
  std::map<std::string, std::string> params;
  std::string starting_balance = "10000";
  std::string leverage = "1";
  std::optional<std::string> taker_fee_rate;
  std::optional<std::string> maker_fee_rate;
  bool start = true;
  // Name of the environment variable holding the signal secret, if any.
  std::string signal_secret_env;
  std::optional<CredentialsEnv> credentials_env;
};

// Live trading on BloFin (strategies with credentials).
struct BlofinConfig {
  // REST base URL: production, https://demo-trading-openapi.blofin.com for
  // demo trading, or a local test server.
  std::string url = "https://openapi.blofin.com";
  // The private WebSocket live strategies follow their orders, positions
  // and balance on (index.md, "WebSocket"; docs/exchanges.md, "Private
  // WebSocket"): wss://openapi.blofin.com/ws/private. Empty: none; resting
  // orders are polled over REST.
  std::string ws_private_url;
  // The private WebSocket's keep-alive: 'ping' after this long without a
  // message, and a stalled connection (closed and made again) without an
  // answer within as long again. 1000 to 20000 (index.md, "WebSocket
  // Connection Management": BloFin closes a connection silent for 30 s).
  int ws_ping_after_ms = 20'000;
  int timeout_ms = 5000;
  // Fetch every instrument's contract value, lot, minimum and tick size from
  // BloFin at start (otherwise built-in defaults and `instruments`).
  bool load_instruments = false;
  // Requests a minute this xctld sends to BloFin's host, every caller
  // together (prices and every live strategy; server/common/request_budget.h).
  // BloFin allows 500 per IP (index.md, "Rate Limits"); the default keeps a
  // reserve. The BloFin price source may use at most half of it.
  int requests_per_minute = 400;
};

// A contract specification for a pair BloFin's defaults do not cover
// (decimals as strings).
struct InstrumentConfig {
  std::string symbol;
  std::string contract_value = "1";
  std::string lot_size = "1";
  std::string min_size = "1";
  std::string tick_size = "0.000000001";
  std::string max_leverage = "100";
  // Largest quantity (contracts) of one market / limit order; "" is no limit.
  std::string max_market_size;
  std::string max_limit_size;
};

// A bearer token that may call the API. The config holds its SHA-256, or
// names the environment variable that holds the token itself.
struct TokenConfig {
  std::string name;
  // "admin" (everything) or "strategy:<id>" (trade and read that strategy).
  std::string scope;
  // Lowercase hex SHA-256 of the token, or empty when `env` is set.
  std::string sha256;
  std::string env;
};

// Who may call the API. No tokens: no checks, and xctld then only listens
// on loopback.
struct AuthConfig {
  std::vector<TokenConfig> tokens;
  // Read-only RPCs without a token.
  bool anonymous_read = false;
  // Tokens over a non-loopback listen address without TLS (they would cross
  // the network in clear): refused at start unless this is set
  // (xctld --allow-insecure-tokens; docs/security.md, "Encryption in transit: TLS").
  bool allow_insecure_tokens = false;
};

// TLS for the gRPC port: both files or neither (PEM).
struct TlsConfig {
  std::string cert_file;
  std::string key_file;
};

// Limits on the gRPC port's connections and the listener watchdog
// (docs/security.md, "Connection floods"). Durations in ms; 0 where noted
// means "no limit".
// The Prometheus endpoint (docs/operations.md, "Monitoring"). Off while
// `listen` is empty.
struct MetricsConfig {
  // HOST:PORT of GET /metrics; port 0 picks a free one.
  std::string listen;
  // A listen address other machines can reach is refused unless true: the
  // page names strategies and pairs, and has no authentication.
  bool allow_remote = false;
};

struct ConnectionsConfig {
  // HTTP/2 streams (calls) open at once on one connection.
  int max_streams_per_connection = 100;
  // A connection that has not finished its TCP/TLS/HTTP/2 handshake in this
  // time is closed (gRPC's default is 120 s: what let idle sockets pile up).
  int handshake_timeout_ms = 20'000;
  // The server pings a connection's client after this long without traffic
  // and closes it when no answer comes within keepalive_timeout_ms.
  int keepalive_time_ms = 60'000;
  int keepalive_timeout_ms = 20'000;
  // A connection with no call open for this long is closed (clients
  // reconnect transparently).
  int max_idle_ms = 300'000;
  // A connection older than this is asked to go away (GOAWAY: new calls go to
  // a new connection); calls still open then get max_age_grace_ms to finish
  // (0: as long as they need, so long streams are never cut).
  int max_age_ms = 3'600'000;
  int max_age_grace_ms = 0;
  // File descriptors kept out of the count the watchdog considers available
  // to connections: the database, BloFin HTTP, NATS and the logs need them.
  int fd_reserve = 256;
  // The listener watchdog: every watchdog_interval_ms it makes a health call
  // over a fresh connection to xctld's own port (deadline
  // watchdog_timeout_ms); after watchdog_failures failures in a row while
  // descriptors are available again it rebuilds the gRPC server on the same
  // port. watchdog_interval_ms 0 turns the watchdog off.
  int watchdog_interval_ms = 5'000;
  int watchdog_timeout_ms = 2'000;
  int watchdog_failures = 3;
};

// Cluster mode (docs/cluster.md): several xctld instances share one
// PostgreSQL database and one NATS server; one of them, the price leader,
// polls the exchange and publishes ticks on NATS for all. Off when nats_url is
// empty (the default): then no NATS function is ever called.
struct ClusterConfig {
  // nats://host:port (credentials allowed in the URL; several servers
  // separated by commas). Empty: cluster mode off.
  std::string nats_url;
  // This instance's id in leases and NATS messages (1-128 printable ASCII
  // characters, no spaces). Empty: <hostname>-<pid>-<random>, new each run.
  std::string node_id;
  // TTL of the price-leader lease in ms. 0: derived from the price interval
  // (EffectiveLeaseTtlMs), so that a crashed leader is replaced within about
  // two intervals.
  int lease_ttl_ms = 0;
  // Also publish one message per pair on xctl.prices.<PAIR> (besides the
  // batch subject every instance consumes).
  bool publish_per_pair = false;
  // TTL of the strategy:<id> and member:<node> leases in ms (strategy
  // sharding, docs/cluster.md). 0: EffectiveStrategyLeaseTtlMs. A crashed
  // instance's strategies run elsewhere within about 5/3 x ttl.
  int strategy_lease_ttl_ms = 0;
  // HOST:PORT at which the other instances reach this one's gRPC port, to
  // forward calls for strategies it owns (docs/cluster.md, "Forwarding").
  // Empty: the listen address with the port actually bound (a wildcard host,
  // 0.0.0.0 or [::], is replaced by this machine's host name).
  std::string advertise_address;

  bool enabled() const { return !nats_url.empty(); }
};

// The smallest price-leader lease TTL cluster mode derives or accepts: the
// keeper renews every ttl/3, so this leaves the database about 100 ms per
// renewal even on a loaded machine.
inline constexpr int kMinClusterLeaseTtlMs = 300;

struct ServerConfig {
  // gRPC listen address, HOST:PORT. Loopback by default.
  std::string listen = "127.0.0.1:50051";
  // sqlite:PATH or postgresql://user:pass@host:port/db
  std::string database = "sqlite:./data/xctl.db";
  std::string log_level = "info";
  // How long shutdown waits for in-flight calls before cancelling them.
  int shutdown_grace_ms = 3000;
  PriceConfig price;
  BlofinConfig blofin;
  std::vector<InstrumentConfig> instruments;
  // File holding the key that encrypts stored credentials (created 0600 when
  // missing); the XCTL_MASTER_KEY environment variable takes precedence.
  // Empty: xctl.key beside the SQLite database (/var/lib/xctl/xctl.key for
  // PostgreSQL). A key file open to group or others is refused at start.
  std::string key_file;
  // xctld --forget-credentials: clear the stored credentials at start (the
  // recovery from a lost master key; those strategies switch to paper).
  bool forget_credentials = false;
  AuthConfig auth;
  TlsConfig tls;
  ConnectionsConfig connections;
  MetricsConfig metrics;
  std::vector<StrategyConfig> strategies;
  ClusterConfig cluster;
};

// The price-leader lease TTL in ms: cluster.lease_ttl_ms when set, else
// max(1.5 x price.interval_ms, kMinClusterLeaseTtlMs). A crashed leader's
// lease expires within ttl and a survivor takes it within ttl/3 more, so
// takeover takes at most 4/3 x ttl (2 intervals with the derived default)
// plus one database round trip.
int EffectiveLeaseTtlMs(const ServerConfig& config);

// The default strategy lease TTL (cluster.strategy_lease_ttl_ms unset).
inline constexpr int kDefaultStrategyLeaseTtlMs = 3000;

// The strategy lease TTL in ms: cluster.strategy_lease_ttl_ms when set, else
// max(EffectiveLeaseTtlMs, kDefaultStrategyLeaseTtlMs). Longer than the
// price leader's: moving a strategy costs more than moving the price poll
// (its exchange reloads positions and orders), so a loaded instance should
// not lose it to one slow renewal. Failover bound: docs/cluster.md.
int EffectiveStrategyLeaseTtlMs(const ServerConfig& config);

// True for a listen address only this machine can reach: 127.x.x.x,
// localhost or [::1].
bool IsLoopbackListen(absl::string_view listen);

// Parses YAML text. `source` names the file in error messages.
[[nodiscard]] absl::StatusOr<ServerConfig> ParseConfig(absl::string_view yaml,
                                                       absl::string_view source);

// Reads and parses a YAML file; NOT_FOUND / INVALID_ARGUMENT with the path.
[[nodiscard]] absl::StatusOr<ServerConfig> LoadConfigFile(const std::string& path);

// Checks values that do not depend on the outside world: listen address form,
// database URL form, log level, price settings, strategy ids and pairs.
[[nodiscard]] absl::Status ValidateConfig(const ServerConfig& config);

}  // namespace xctl
