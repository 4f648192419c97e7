// ValidateConfig (server/config/config.h): the checks of a parsed config
// that do not depend on the outside world, one helper per section where it
// has several; and the cluster lease TTLs derived from the config.
#include "server/config/config.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/common/decimal.h"
#include "server/common/error_reason.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/common/symbol.h"
#include "server/config/connections_keys.h"

namespace xctl {
namespace {

using config_internal::ConnectionsKeys;

// HOST:PORT with a port from `min_port` (0: a free one is picked) to 65535.
bool ValidHostPort(absl::string_view listen, int min_port = 0) {
  size_t colon = listen.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) return false;
  int port = 0;
  if (!absl::SimpleAtoi(listen.substr(colon + 1), &port)) return false;
  return port >= min_port && port <= 65535;
}

// A live strategy's BloFin order or cancel is sent only while the lease has
// at least blofin.timeout_ms left before the keeper's local deadline
// (BlofinExchange::PostTrade, LeaseKeeper::TimeLeft). That deadline is
// 0.9 x ttl after a renewal is sent (the margin is ttl/10), and renewals go
// out every ttl/3, so the time left runs from 0.9 x ttl down to
// 0.9 x ttl - ttl/3 = 0.567 x ttl just before the next renewal. Every call
// finds room at any moment only when 0.567 x ttl >= timeout, i.e.
// ttl >= 1.76 x timeout; 1.8 leaves a little for the renewal's own round trip.
absl::Status ValidateLiveLeaseRoom(const ServerConfig& config) {
  auto live = std::find_if(config.strategies.begin(), config.strategies.end(),
                           [](const StrategyConfig& s) { return s.credentials_env.has_value(); });
  if (live == config.strategies.end()) return absl::OkStatus();
  const int64_t ttl = EffectiveStrategyLeaseTtlMs(config);
  const int64_t timeout = config.blofin.timeout_ms;
  if (ttl * 10 >= timeout * 18) return absl::OkStatus();
  return WithReason(
      absl::InvalidArgumentError(absl::StrCat(
          "cluster.strategy_lease_ttl_ms is ", ttl, " ms",
          config.cluster.strategy_lease_ttl_ms == 0 ? " (derived: it is 0)" : "",
          " but live strategy \"", live->id, "\" needs at least 1.8 x blofin.timeout_ms = ",
          (timeout * 18 + 9) / 10, " ms: a BloFin order is sent only while the lease has "
          "blofin.timeout_ms (", timeout, " ms) left, and between renewals the time left falls "
          "to 0.57 x ttl; raise cluster.strategy_lease_ttl_ms or lower blofin.timeout_ms")),
      reason::kLeaseTtlTooShort);
}

absl::Status ValidateCluster(const ServerConfig& config) {
  const ClusterConfig& c = config.cluster;
  if (!c.enabled()) return absl::OkStatus();
  if (!absl::StartsWith(config.database, "postgresql://") &&
      !absl::StartsWith(config.database, "postgres://")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cluster mode needs a PostgreSQL database (database is ", RedactUrl(config.database),
        "): give --db postgresql://user:pass@host:port/db"));
  }
  for (absl::string_view url : absl::StrSplit(c.nats_url, ',', absl::SkipWhitespace())) {
    url = absl::StripAsciiWhitespace(url);
    if (!absl::StartsWith(url, "nats://") && !absl::StartsWith(url, "tls://")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cluster.nats_url: expected nats://host:port (or tls://), got ",
          LogQuote(RedactUrl(url))));
    }
  }
  if (!c.node_id.empty()) {
    const bool printable = std::all_of(c.node_id.begin(), c.node_id.end(),
                                       [](char ch) { return ch > ' ' && ch < 127; });
    if (c.node_id.size() > 128 || !printable) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cluster.node_id: 1-128 printable ASCII characters without spaces, got ",
          LogQuote(c.node_id)));
    }
  }
  if (!c.advertise_address.empty()) {
    const bool printable =
        std::all_of(c.advertise_address.begin(), c.advertise_address.end(),
                    [](char ch) { return ch > ' ' && ch < 127; });
    if (!printable || !ValidHostPort(c.advertise_address, /*min_port=*/1)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cluster.advertise_address: expected HOST:PORT (port 1..65535) that the other "
          "instances can reach, got ",
          LogQuote(c.advertise_address)));
    }
  }
  if (c.lease_ttl_ms != 0 &&
      (c.lease_ttl_ms < kMinClusterLeaseTtlMs || c.lease_ttl_ms > 3'600'000)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cluster.lease_ttl_ms: expected 0 (derived from price.interval_ms) or ",
        kMinClusterLeaseTtlMs, "..3600000, got ", c.lease_ttl_ms));
  }
  if (c.strategy_lease_ttl_ms != 0 &&
      (c.strategy_lease_ttl_ms < kMinClusterLeaseTtlMs || c.strategy_lease_ttl_ms > 3'600'000)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cluster.strategy_lease_ttl_ms: expected 0 (default: max(lease ttl, ",
        kDefaultStrategyLeaseTtlMs, ")) or ", kMinClusterLeaseTtlMs, "..3600000, got ",
        c.strategy_lease_ttl_ms));
  }
  return ValidateLiveLeaseRoom(config);
}

// Every limit >= 0; 0 is "no limit" only for max_age_grace_ms and
// fd_reserve, and "off" for watchdog_interval_ms.
absl::Status ValidateConnections(const ConnectionsConfig& c) {
  const std::set<std::string> zero_ok = {"max_age_grace_ms", "fd_reserve",
                                         "watchdog_interval_ms"};
  for (const auto& [key, field] : ConnectionsKeys()) {
    const bool may_be_zero = zero_ok.count(key) > 0 ||
                             (c.watchdog_interval_ms == 0 && absl::StartsWith(key, "watchdog_"));
    if (c.*field < 0 || (c.*field == 0 && !may_be_zero)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "connections.", key, may_be_zero ? ": must be >= 0" : ": must be > 0"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

bool IsLoopbackListen(absl::string_view listen) {
  return absl::StartsWith(listen, "127.") || absl::StartsWith(listen, "localhost:") ||
         absl::StartsWith(listen, "[::1]:");
}

absl::Status ValidateConfig(const ServerConfig& config) {
  if (!ValidHostPort(config.listen)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "listen: \"", config.listen, "\" is not HOST:PORT (for example 127.0.0.1:50051)"));
  }
  if (!absl::StartsWith(config.database, "sqlite:") &&
      !absl::StartsWith(config.database, "postgresql://") &&
      !absl::StartsWith(config.database, "postgres://")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "database: unsupported URL \"", RedactUrl(config.database),
        "\": expected sqlite:PATH or postgresql://user:pass@host:port/db"));
  }
  if (config.database == "sqlite:") {
    return absl::InvalidArgumentError("database: sqlite: needs a file path, as in sqlite:./data/xctl.db");
  }
  static const std::set<std::string> kLevels = {"trace", "debug", "info", "warn",
                                                "warning", "error", "critical", "off"};
  if (!kLevels.count(config.log_level)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "log_level: \"", config.log_level,
        "\" is not one of trace, debug, info, warn, error, critical, off"));
  }
  if (config.shutdown_grace_ms < 0) {
    return absl::InvalidArgumentError("shutdown_grace_ms: must be >= 0");
  }
  if (config.blofin.requests_per_minute < 1) {
    return absl::InvalidArgumentError("blofin.requests_per_minute: must be at least 1");
  }
  if (config.blofin.ws_ping_after_ms < 1000 || config.blofin.ws_ping_after_ms > 20'000) {
    return absl::InvalidArgumentError(
        "blofin.ws_ping_after_ms: must be from 1000 to 20000 (BloFin closes a connection "
        "silent for 30 s)");
  }
  PriceConfig price = config.price;
  price.blofin_requests_per_minute = config.blofin.requests_per_minute;
  XCTL_RETURN_IF_ERROR(ValidatePriceConfig(price));
  XCTL_RETURN_IF_ERROR(ValidateCluster(config));
  std::set<std::string> token_names;
  for (const TokenConfig& t : config.auth.tokens) {
    if (t.name.empty() || !token_names.insert(t.name).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "auth.tokens: every token needs a unique name (", LogQuote(t.name), ")"));
    }
    if (t.scope != "admin" && !absl::StartsWith(t.scope, "strategy:")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "auth.tokens.", t.name, ".scope: admin or strategy:<id>, got ", LogQuote(t.scope)));
    }
    if (absl::StartsWith(t.scope, "strategy:")) {
      XCTL_RETURN_IF_ERROR(ValidateStrategyId(t.scope.substr(9)));
    }
    const bool hex_ok = t.sha256.size() == 64 &&
                        std::all_of(t.sha256.begin(), t.sha256.end(), [](char c) {
                          return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                        });
    if (t.sha256.empty() == t.env.empty() || (!t.sha256.empty() && !hex_ok)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "auth.tokens.", t.name,
          ": give exactly one of sha256 (64 lowercase hex digits of SHA-256 of the token) "
          "and env (the variable holding the token)"));
    }
  }
  if (config.tls.cert_file.empty() != config.tls.key_file.empty()) {
    return absl::InvalidArgumentError("tls: give both cert_file and key_file, or neither");
  }
  XCTL_RETURN_IF_ERROR(ValidateConnections(config.connections));
  if (!config.metrics.listen.empty()) {
    if (!ValidHostPort(config.metrics.listen)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "metrics.listen: ", LogQuote(config.metrics.listen), " is not HOST:PORT"));
    }
    if (!IsLoopbackListen(config.metrics.listen) && !config.metrics.allow_remote) {
      return absl::InvalidArgumentError(absl::StrCat(
          "metrics.listen: ", config.metrics.listen,
          " is reachable from other machines and /metrics has no authentication: listen on "
          "127.0.0.1, or set metrics.allow_remote: true behind a firewall"));
    }
  }
  // Tokens in clear across a network (docs/security.md, "Encryption in transit: TLS").
  if (!config.auth.tokens.empty() && config.tls.cert_file.empty() &&
      !IsLoopbackListen(config.listen) && !config.auth.allow_insecure_tokens) {
    return absl::InvalidArgumentError(absl::StrCat(
        "listen: ", config.listen, " is reachable from other machines and auth.tokens are "
        "set, but without tls the tokens cross the network in clear: add tls.cert_file and "
        "tls.key_file, listen on 127.0.0.1, or pass --allow-insecure-tokens"));
  }
  if (!absl::StartsWith(config.blofin.url, "https://") &&
      !absl::StartsWith(config.blofin.url, "http://127.0.0.1") &&
      !absl::StartsWith(config.blofin.url, "http://localhost")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "blofin.url: \"", config.blofin.url,
        "\" must be https:// (plain http only to a local test server)"));
  }
  if (config.blofin.timeout_ms <= 0) {
    return absl::InvalidArgumentError("blofin.timeout_ms: must be > 0");
  }
  for (const InstrumentConfig& i : config.instruments) {
    XCTL_RETURN_IF_ERROR(ValidateSymbol(i.symbol));
    for (const auto& [name, value] :
         {std::pair{"contract_value", i.contract_value}, {"lot_size", i.lot_size},
          {"min_size", i.min_size}, {"tick_size", i.tick_size},
          {"max_leverage", i.max_leverage}}) {
      auto d = Decimal::Parse(value);
      if (!d.ok() || !d->is_positive()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "instruments: ", i.symbol, ".", name, " must be a number > 0, got \"", value, "\""));
      }
    }
    for (const auto& [name, value] : {std::pair{"max_market_size", i.max_market_size},
                                      {"max_limit_size", i.max_limit_size}}) {
      if (value.empty()) continue;  // no limit
      auto d = Decimal::Parse(value);
      if (!d.ok() || !d->is_positive()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "instruments: ", i.symbol, ".", name,
            " must be a number > 0 (contracts) or absent for no limit, got \"", value, "\""));
      }
    }
  }
  std::set<std::string> ids;
  for (const StrategyConfig& st : config.strategies) {
    absl::Status id_ok = ValidateStrategyId(st.id);
    if (!id_ok.ok()) return absl::InvalidArgumentError(absl::StrCat("strategies: ", id_ok.message()));
    if (!ids.insert(st.id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("strategies: id \"", st.id, "\" appears twice"));
    }
    if (st.type.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("strategies: \"", st.id, "\" has no type"));
    }
    for (const std::string& pair : st.pairs) {
      absl::Status ok = ValidateSymbol(pair);
      if (!ok.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("strategies: \"", st.id, "\": ", ok.message()));
      }
    }
    for (const auto& [name, value] :
         {std::pair<std::string, std::optional<std::string>>{"starting_balance", st.starting_balance},
          {"leverage", st.leverage},
          {"taker_fee_rate", st.taker_fee_rate},
          {"maker_fee_rate", st.maker_fee_rate}}) {
      if (!value) continue;
      auto d = Decimal::Parse(*value);
      if (!d.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "strategies: \"", st.id, "\": ", name, ": ", d.status().message()));
      }
      // maker_fee_rate may be negative: a maker rebate, above -1 (the
      // strategy manager checks the same for strategies made over the API).
      if (name == "maker_fee_rate" && *d <= Decimal::FromInt(-1)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "strategies: \"", st.id, "\": maker_fee_rate must be above -1 (a rebate), got ",
            *value));
      }
      if (d->is_negative() && name != "maker_fee_rate") {
        return absl::InvalidArgumentError(absl::StrCat(
            "strategies: \"", st.id, "\": ", name, " must not be negative"));
      }
    }
  }
  return absl::OkStatus();
}

int EffectiveLeaseTtlMs(const ServerConfig& config) {
  if (config.cluster.lease_ttl_ms > 0) return config.cluster.lease_ttl_ms;
  return std::max(kMinClusterLeaseTtlMs, config.price.interval_ms * 3 / 2);
}

int EffectiveStrategyLeaseTtlMs(const ServerConfig& config) {
  if (config.cluster.strategy_lease_ttl_ms > 0) return config.cluster.strategy_lease_ttl_ms;
  return std::max(EffectiveLeaseTtlMs(config), kDefaultStrategyLeaseTtlMs);
}

}  // namespace xctl
