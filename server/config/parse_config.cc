// ParseConfig and LoadConfigFile (server/config/config.h): reading the YAML
// file, one parser per section. The checks of the values read are in
// validate_config.cc.
#include "server/config/config.h"

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"
#include "server/config/connections_keys.h"
#include "server/config/yaml_section.h"
#include "yaml-cpp/yaml.h"

namespace xctl {
namespace {

using config_internal::ConnectionsKeys;
using config_internal::Section;

absl::Status ParsePrice(const Section& s, PriceConfig* price) {
  XCTL_RETURN_IF_ERROR(s.CheckType());
  XCTL_RETURN_IF_ERROR(s.CheckKeys(
      {"source", "pairs", "interval_ms", "stale_after_intervals", "blofin_url",
       "blofin_ws_url", "replay_file", "replay_speed", "seed", "http_timeout_ms"}));
  XCTL_RETURN_IF_ERROR(s.String("source", &price->source));
  XCTL_RETURN_IF_ERROR(s.StringList("pairs", &price->pairs));
  XCTL_RETURN_IF_ERROR(s.Integer("interval_ms", &price->interval_ms));
  XCTL_RETURN_IF_ERROR(
      s.Integer("stale_after_intervals", &price->stale_after_intervals));
  XCTL_RETURN_IF_ERROR(s.String("blofin_url", &price->blofin_url));
  XCTL_RETURN_IF_ERROR(s.String("blofin_ws_url", &price->blofin_ws_url));
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
                   "strategy_lease_ttl_ms", "advertise_address"}));
  XCTL_RETURN_IF_ERROR(s.String("nats_url", &cluster->nats_url));
  XCTL_RETURN_IF_ERROR(s.String("node_id", &cluster->node_id));
  XCTL_RETURN_IF_ERROR(s.Integer("lease_ttl_ms", &cluster->lease_ttl_ms));
  XCTL_RETURN_IF_ERROR(s.Bool("publish_per_pair", &cluster->publish_per_pair));
  XCTL_RETURN_IF_ERROR(s.Integer("strategy_lease_ttl_ms", &cluster->strategy_lease_ttl_ms));
  XCTL_RETURN_IF_ERROR(s.String("advertise_address", &cluster->advertise_address));
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
      s.CheckKeys({"url", "ws_private_url", "ws_ping_after_ms", "timeout_ms",
                   "load_instruments", "requests_per_minute"}));
  XCTL_RETURN_IF_ERROR(s.String("url", &b->url));
  XCTL_RETURN_IF_ERROR(s.String("ws_private_url", &b->ws_private_url));
  XCTL_RETURN_IF_ERROR(s.Integer("ws_ping_after_ms", &b->ws_ping_after_ms));
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

}  // namespace

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

}  // namespace xctl
