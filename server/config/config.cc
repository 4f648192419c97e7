#include "server/config/config.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/common/decimal.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/common/symbol.h"
#include "yaml-cpp/yaml.h"

namespace xctl {
namespace {

// Walks one YAML mapping, refusing keys it does not know.
class Section {
 public:
  Section(const YAML::Node& node, std::string path, std::string source)
      : node_(node), path_(std::move(path)), source_(std::move(source)) {}

  absl::Status CheckType() const {
    if (!node_.IsMap()) return Error("", "expected a mapping of key: value");
    return absl::OkStatus();
  }

  // Refuses any key not in `known`.
  absl::Status CheckKeys(const std::set<std::string>& known) const {
    for (const auto& kv : node_) {
      std::string key = kv.first.as<std::string>();
      if (!known.count(key)) {
        return absl::InvalidArgumentError(absl::StrCat(
            source_, ": unknown key ", LogQuote(key), " (known keys",
            path_.empty() ? "" : absl::StrCat(" in ", path_), ": ",
            absl::StrJoin(known, ", "), ")"));
      }
    }
    return absl::OkStatus();
  }

  bool Has(const std::string& key) const { return node_[key].IsDefined(); }
  YAML::Node Get(const std::string& key) const { return node_[key]; }

  absl::Status String(const std::string& key, std::string* out) const {
    YAML::Node v = node_[key];
    if (!v.IsDefined()) return absl::OkStatus();
    if (!v.IsScalar()) return Error(key, "expected a single value");
    *out = v.as<std::string>();
    return absl::OkStatus();
  }

  absl::Status OptString(const std::string& key,
                         std::optional<std::string>* out) const {
    if (!Has(key)) return absl::OkStatus();
    std::string s;
    XCTL_RETURN_IF_ERROR(String(key, &s));
    *out = s;
    return absl::OkStatus();
  }

  template <typename Int>
  absl::Status Integer(const std::string& key, Int* out) const {
    std::string s;
    if (!Has(key)) return absl::OkStatus();
    XCTL_RETURN_IF_ERROR(String(key, &s));
    if (!absl::SimpleAtoi(s, out)) {
      return Error(key, absl::StrCat("expected a whole number, got \"", s, "\""));
    }
    return absl::OkStatus();
  }

  absl::Status Double(const std::string& key, double* out) const {
    std::string s;
    if (!Has(key)) return absl::OkStatus();
    XCTL_RETURN_IF_ERROR(String(key, &s));
    if (!absl::SimpleAtod(s, out)) {
      return Error(key, absl::StrCat("expected a number, got \"", s, "\""));
    }
    return absl::OkStatus();
  }

  absl::Status Bool(const std::string& key, bool* out) const {
    std::string s;
    if (!Has(key)) return absl::OkStatus();
    XCTL_RETURN_IF_ERROR(String(key, &s));
    if (!absl::SimpleAtob(s, out)) {
      return Error(key, absl::StrCat("expected true or false, got \"", s, "\""));
    }
    return absl::OkStatus();
  }

  absl::Status StringList(const std::string& key,
                          std::vector<std::string>* out) const {
    YAML::Node v = node_[key];
    if (!v.IsDefined()) return absl::OkStatus();
    out->clear();
    if (v.IsScalar()) {  // "BTC-USDT,ETH-USDT" is accepted too
      for (absl::string_view p : absl::StrSplit(v.as<std::string>(), ',', absl::SkipWhitespace())) {
        out->emplace_back(absl::StripAsciiWhitespace(p));
      }
      return absl::OkStatus();
    }
    if (!v.IsSequence()) return Error(key, "expected a list");
    for (const auto& item : v) {
      if (!item.IsScalar()) return Error(key, "expected a list of values");
      out->push_back(item.as<std::string>());
    }
    return absl::OkStatus();
  }

  absl::Status StringMap(const std::string& key,
                         std::map<std::string, std::string>* out) const {
    YAML::Node v = node_[key];
    if (!v.IsDefined()) return absl::OkStatus();
    if (!v.IsMap()) return Error(key, "expected a mapping of key: value");
    for (const auto& kv : v) {
      if (!kv.second.IsScalar()) {
        return Error(absl::StrCat(key, ".", kv.first.as<std::string>()),
                     "expected a single value");
      }
      (*out)[kv.first.as<std::string>()] = kv.second.as<std::string>();
    }
    return absl::OkStatus();
  }

  absl::Status Error(const std::string& key, absl::string_view what) const {
    std::string where = path_;
    if (!key.empty()) where = where.empty() ? key : absl::StrCat(path_, ".", key);
    return absl::InvalidArgumentError(absl::StrCat(
        source_, ": ", where.empty() ? "" : absl::StrCat("\"", where, "\": "), what));
  }

 private:
  YAML::Node node_;
  std::string path_;
  std::string source_;
};

absl::Status ParsePrice(const Section& s, PriceConfig* price) {
  XCTL_RETURN_IF_ERROR(s.CheckType());
  XCTL_RETURN_IF_ERROR(s.CheckKeys(
      {"source", "pairs", "interval_ms", "stale_after_intervals", "blofin_url",
       "replay_file", "replay_speed", "seed", "http_timeout_ms"}));
  XCTL_RETURN_IF_ERROR(s.String("source", &price->source));
  XCTL_RETURN_IF_ERROR(s.StringList("pairs", &price->pairs));
  XCTL_RETURN_IF_ERROR(s.Integer("interval_ms", &price->interval_ms));
  XCTL_RETURN_IF_ERROR(
      s.Integer("stale_after_intervals", &price->stale_after_intervals));
  XCTL_RETURN_IF_ERROR(s.String("blofin_url", &price->blofin_url));
  XCTL_RETURN_IF_ERROR(s.String("replay_file", &price->replay_file));
  XCTL_RETURN_IF_ERROR(s.Double("replay_speed", &price->replay_speed));
  XCTL_RETURN_IF_ERROR(s.Integer("seed", &price->seed));
  XCTL_RETURN_IF_ERROR(s.Integer("http_timeout_ms", &price->http_timeout_ms));
  return absl::OkStatus();
}

absl::Status ParseCluster(const Section& s, ClusterConfig* cluster) {
  XCTL_RETURN_IF_ERROR(s.CheckType());
  XCTL_RETURN_IF_ERROR(
      s.CheckKeys({"nats_url", "node_id", "lease_ttl_ms", "publish_per_pair",
                   "strategy_lease_ttl_ms"}));
  XCTL_RETURN_IF_ERROR(s.String("nats_url", &cluster->nats_url));
  XCTL_RETURN_IF_ERROR(s.String("node_id", &cluster->node_id));
  XCTL_RETURN_IF_ERROR(s.Integer("lease_ttl_ms", &cluster->lease_ttl_ms));
  XCTL_RETURN_IF_ERROR(s.Bool("publish_per_pair", &cluster->publish_per_pair));
  XCTL_RETURN_IF_ERROR(s.Integer("strategy_lease_ttl_ms", &cluster->strategy_lease_ttl_ms));
  return absl::OkStatus();
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
  return absl::OkStatus();
}

absl::Status ParseStrategy(const Section& s, StrategyConfig* st,
                           const std::string& source) {
  XCTL_RETURN_IF_ERROR(s.CheckType());
  XCTL_RETURN_IF_ERROR(s.CheckKeys(
      {"id", "name", "type", "pairs", "params", "starting_balance", "leverage",
       "taker_fee_rate", "maker_fee_rate", "start", "signal_secret_env",
       "credentials_env"}));
  XCTL_RETURN_IF_ERROR(s.String("id", &st->id));
  XCTL_RETURN_IF_ERROR(s.String("name", &st->name));
  XCTL_RETURN_IF_ERROR(s.String("type", &st->type));
  XCTL_RETURN_IF_ERROR(s.StringList("pairs", &st->pairs));
  XCTL_RETURN_IF_ERROR(s.StringMap("params", &st->params));
  XCTL_RETURN_IF_ERROR(s.String("starting_balance", &st->starting_balance));
  XCTL_RETURN_IF_ERROR(s.String("leverage", &st->leverage));
  XCTL_RETURN_IF_ERROR(s.OptString("taker_fee_rate", &st->taker_fee_rate));
  XCTL_RETURN_IF_ERROR(s.OptString("maker_fee_rate", &st->maker_fee_rate));
  XCTL_RETURN_IF_ERROR(s.Bool("start", &st->start));
  XCTL_RETURN_IF_ERROR(s.String("signal_secret_env", &st->signal_secret_env));
  if (s.Has("credentials_env")) {
    Section c(s.Get("credentials_env"), "strategies[].credentials_env", source);
    XCTL_RETURN_IF_ERROR(c.CheckType());
    XCTL_RETURN_IF_ERROR(c.CheckKeys({"api_key", "api_secret", "passphrase"}));
    CredentialsEnv env;
    XCTL_RETURN_IF_ERROR(c.String("api_key", &env.api_key));
    XCTL_RETURN_IF_ERROR(c.String("api_secret", &env.api_secret));
    XCTL_RETURN_IF_ERROR(c.String("passphrase", &env.passphrase));
    st->credentials_env = env;
  }
  if (st->name.empty()) st->name = st->id;
  return absl::OkStatus();
}

absl::Status ParseBlofin(const Section& s, BlofinConfig* b) {
  XCTL_RETURN_IF_ERROR(s.CheckType());
  XCTL_RETURN_IF_ERROR(
      s.CheckKeys({"url", "timeout_ms", "load_instruments", "requests_per_minute"}));
  XCTL_RETURN_IF_ERROR(s.String("url", &b->url));
  XCTL_RETURN_IF_ERROR(s.Integer("timeout_ms", &b->timeout_ms));
  XCTL_RETURN_IF_ERROR(s.Bool("load_instruments", &b->load_instruments));
  XCTL_RETURN_IF_ERROR(s.Integer("requests_per_minute", &b->requests_per_minute));
  return absl::OkStatus();
}

absl::Status ParseInstrument(const Section& s, InstrumentConfig* i) {
  XCTL_RETURN_IF_ERROR(s.CheckType());
  XCTL_RETURN_IF_ERROR(s.CheckKeys({"symbol", "contract_value", "lot_size", "min_size",
                                    "tick_size", "max_leverage", "max_market_size",
                                    "max_limit_size"}));
  XCTL_RETURN_IF_ERROR(s.String("symbol", &i->symbol));
  XCTL_RETURN_IF_ERROR(s.String("contract_value", &i->contract_value));
  XCTL_RETURN_IF_ERROR(s.String("lot_size", &i->lot_size));
  XCTL_RETURN_IF_ERROR(s.String("min_size", &i->min_size));
  XCTL_RETURN_IF_ERROR(s.String("tick_size", &i->tick_size));
  XCTL_RETURN_IF_ERROR(s.String("max_leverage", &i->max_leverage));
  XCTL_RETURN_IF_ERROR(s.String("max_market_size", &i->max_market_size));
  XCTL_RETURN_IF_ERROR(s.String("max_limit_size", &i->max_limit_size));
  return absl::OkStatus();
}

absl::Status ParseAuth(const Section& s, AuthConfig* auth, const std::string& source) {
  XCTL_RETURN_IF_ERROR(s.CheckType());
  XCTL_RETURN_IF_ERROR(s.CheckKeys({"tokens", "anonymous_read", "allow_insecure_tokens"}));
  XCTL_RETURN_IF_ERROR(s.Bool("anonymous_read", &auth->anonymous_read));
  XCTL_RETURN_IF_ERROR(s.Bool("allow_insecure_tokens", &auth->allow_insecure_tokens));
  if (!s.Has("tokens")) return absl::OkStatus();
  YAML::Node list = s.Get("tokens");
  if (!list.IsSequence()) return s.Error("tokens", "expected a list of tokens");
  int i = 0;
  for (const auto& item : list) {
    Section t(item, absl::StrCat("auth.tokens[", i++, "]"), source);
    XCTL_RETURN_IF_ERROR(t.CheckType());
    XCTL_RETURN_IF_ERROR(t.CheckKeys({"name", "scope", "sha256", "env"}));
    TokenConfig token;
    XCTL_RETURN_IF_ERROR(t.String("name", &token.name));
    XCTL_RETURN_IF_ERROR(t.String("scope", &token.scope));
    XCTL_RETURN_IF_ERROR(t.String("sha256", &token.sha256));
    XCTL_RETURN_IF_ERROR(t.String("env", &token.env));
    auth->tokens.push_back(std::move(token));
  }
  return absl::OkStatus();
}

absl::Status ParseTls(const Section& s, TlsConfig* tls) {
  XCTL_RETURN_IF_ERROR(s.CheckType());
  XCTL_RETURN_IF_ERROR(s.CheckKeys({"cert_file", "key_file"}));
  XCTL_RETURN_IF_ERROR(s.String("cert_file", &tls->cert_file));
  XCTL_RETURN_IF_ERROR(s.String("key_file", &tls->key_file));
  return absl::OkStatus();
}

// The keys of `connections:` and where each goes.
std::vector<std::pair<const char*, int ConnectionsConfig::*>> ConnectionsKeys() {
  return {{"max_streams_per_connection", &ConnectionsConfig::max_streams_per_connection},
          {"handshake_timeout_ms", &ConnectionsConfig::handshake_timeout_ms},
          {"keepalive_time_ms", &ConnectionsConfig::keepalive_time_ms},
          {"keepalive_timeout_ms", &ConnectionsConfig::keepalive_timeout_ms},
          {"max_idle_ms", &ConnectionsConfig::max_idle_ms},
          {"max_age_ms", &ConnectionsConfig::max_age_ms},
          {"max_age_grace_ms", &ConnectionsConfig::max_age_grace_ms},
          {"fd_reserve", &ConnectionsConfig::fd_reserve},
          {"watchdog_interval_ms", &ConnectionsConfig::watchdog_interval_ms},
          {"watchdog_timeout_ms", &ConnectionsConfig::watchdog_timeout_ms},
          {"watchdog_failures", &ConnectionsConfig::watchdog_failures}};
}

absl::Status ParseConnections(const Section& s, ConnectionsConfig* c) {
  XCTL_RETURN_IF_ERROR(s.CheckType());
  std::set<std::string> keys;
  for (const auto& [key, field] : ConnectionsKeys()) keys.insert(key);
  XCTL_RETURN_IF_ERROR(s.CheckKeys(keys));
  for (const auto& [key, field] : ConnectionsKeys()) {
    XCTL_RETURN_IF_ERROR(s.Integer(key, &(c->*field)));
  }
  return absl::OkStatus();
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

bool ValidHostPort(absl::string_view listen) {
  size_t colon = listen.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) return false;
  int port = 0;
  if (!absl::SimpleAtoi(listen.substr(colon + 1), &port)) return false;
  return port >= 0 && port <= 65535;
}

}  // namespace

bool IsLoopbackListen(absl::string_view listen) {
  return absl::StartsWith(listen, "127.") || absl::StartsWith(listen, "localhost:") ||
         absl::StartsWith(listen, "[::1]:");
}

absl::StatusOr<ServerConfig> ParseConfig(absl::string_view yaml,
                                         absl::string_view source_view) {
  std::string source(source_view);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": not valid YAML: ", e.what()));
  }
  ServerConfig config;
  if (root.IsNull()) return config;  // an empty file keeps the defaults
  try {
    Section top(root, "", source);
    XCTL_RETURN_IF_ERROR(top.CheckType());
    XCTL_RETURN_IF_ERROR(top.CheckKeys({"listen", "database", "log_level",
                                        "shutdown_grace_ms", "price", "blofin",
                                        "instruments", "key_file", "auth", "tls",
                                        "connections", "metrics", "strategies", "cluster"}));
    if (top.Has("cluster")) {
      XCTL_RETURN_IF_ERROR(
          ParseCluster(Section(top.Get("cluster"), "cluster", source), &config.cluster));
    }
    if (top.Has("auth")) {
      XCTL_RETURN_IF_ERROR(ParseAuth(Section(top.Get("auth"), "auth", source), &config.auth, source));
    }
    if (top.Has("tls")) {
      XCTL_RETURN_IF_ERROR(ParseTls(Section(top.Get("tls"), "tls", source), &config.tls));
    }
    if (top.Has("metrics")) {
      Section m(top.Get("metrics"), "metrics", source);
      XCTL_RETURN_IF_ERROR(m.CheckType());
      XCTL_RETURN_IF_ERROR(m.CheckKeys({"listen", "allow_remote"}));
      XCTL_RETURN_IF_ERROR(m.String("listen", &config.metrics.listen));
      XCTL_RETURN_IF_ERROR(m.Bool("allow_remote", &config.metrics.allow_remote));
    }
    if (top.Has("connections")) {
      XCTL_RETURN_IF_ERROR(ParseConnections(
          Section(top.Get("connections"), "connections", source), &config.connections));
    }
    XCTL_RETURN_IF_ERROR(top.String("key_file", &config.key_file));
    if (top.Has("blofin")) {
      XCTL_RETURN_IF_ERROR(
          ParseBlofin(Section(top.Get("blofin"), "blofin", source), &config.blofin));
    }
    if (top.Has("instruments")) {
      YAML::Node list = top.Get("instruments");
      if (!list.IsSequence()) return top.Error("instruments", "expected a list of instruments");
      int i = 0;
      for (const auto& item : list) {
        InstrumentConfig spec;
        XCTL_RETURN_IF_ERROR(ParseInstrument(
            Section(item, absl::StrCat("instruments[", i++, "]"), source), &spec));
        config.instruments.push_back(std::move(spec));
      }
    }
    XCTL_RETURN_IF_ERROR(top.String("listen", &config.listen));
    XCTL_RETURN_IF_ERROR(top.String("database", &config.database));
    XCTL_RETURN_IF_ERROR(top.String("log_level", &config.log_level));
    XCTL_RETURN_IF_ERROR(top.Integer("shutdown_grace_ms", &config.shutdown_grace_ms));
    if (top.Has("price")) {
      XCTL_RETURN_IF_ERROR(
          ParsePrice(Section(top.Get("price"), "price", source), &config.price));
    }
    if (top.Has("strategies")) {
      YAML::Node list = top.Get("strategies");
      if (!list.IsSequence()) {
        return top.Error("strategies", "expected a list of strategies");
      }
      int i = 0;
      for (const auto& item : list) {
        StrategyConfig st;
        XCTL_RETURN_IF_ERROR(ParseStrategy(
            Section(item, absl::StrCat("strategies[", i++, "]"), source), &st,
            source));
        config.strategies.push_back(std::move(st));
      }
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", e.what()));
  }
  return config;
}

absl::StatusOr<ServerConfig> LoadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read config file \"", path, "\""));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return ParseConfig(buffer.str(), path);
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
