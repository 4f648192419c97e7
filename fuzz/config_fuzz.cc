// Fuzzes ParseConfig + ValidateConfig (server/config/config.h) on YAML text.
//
// Invariants: no exception escapes (yaml-cpp's must become a Status);
// ParseConfig errors are INVALID_ARGUMENT naming the file; ValidateConfig
// errors are INVALID_ARGUMENT (NOT_FOUND for a missing replay file); a config
// that validates has the properties the server relies on at start, checked
// here independently of validate_config.cc.
//
// ValidateConfig opens price.replay_file; the harness points a non-empty one
// at /dev/null so the fuzzer never touches other files (a FIFO would hang).
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "fuzz_check.h"
#include "server/config/config.h"

using xctl::Decimal;
using xctl_fuzz::Q;

namespace {

bool UpperAlnum(absl::string_view s) {
  if (s.empty() || s.size() > 20) return false;
  for (char c : s) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

bool ValidSymbol(absl::string_view s) {
  std::vector<absl::string_view> parts = absl::StrSplit(s, '-');
  return parts.size() == 2 && UpperAlnum(parts[0]) && UpperAlnum(parts[1]);
}

void CheckValid(const xctl::ServerConfig& c) {
  size_t colon = c.listen.rfind(':');
  int port = -1;
  FUZZ_CHECK(colon != std::string::npos && colon > 0 &&
                 absl::SimpleAtoi(absl::string_view(c.listen).substr(colon + 1), &port) &&
                 port >= 0 && port <= 65535,
             "listen " + Q(c.listen));
  FUZZ_CHECK(c.database != "sqlite:" && (absl::StartsWith(c.database, "sqlite:") ||
                                         absl::StartsWith(c.database, "postgresql://") ||
                                         absl::StartsWith(c.database, "postgres://")),
             "database " + Q(c.database));
  FUZZ_CHECK(c.shutdown_grace_ms >= 0, "shutdown_grace_ms");
  FUZZ_CHECK(c.price.interval_ms >= 50 && c.price.stale_after_intervals >= 1 &&
                 c.price.http_timeout_ms >= 100,
             "price intervals");
  FUZZ_CHECK(!c.price.pairs.empty(), "no price pairs");
  std::set<std::string> pairs;
  for (const auto& p : c.price.pairs) {
    FUZZ_CHECK(ValidSymbol(p), "price pair " + Q(p));
    FUZZ_CHECK(pairs.insert(p).second, "price pair twice " + Q(p));
  }
  FUZZ_CHECK(c.blofin.timeout_ms > 0, "blofin.timeout_ms");
  for (const auto& i : c.instruments) {
    FUZZ_CHECK(ValidSymbol(i.symbol), "instrument " + Q(i.symbol));
    for (const std::string& v :
         {i.contract_value, i.lot_size, i.min_size, i.tick_size, i.max_leverage}) {
      auto d = Decimal::Parse(v);
      FUZZ_CHECK(d.ok() && d->is_positive(), "instrument value " + Q(v));
    }
  }
  std::set<std::string> names;
  for (const auto& t : c.auth.tokens) {
    FUZZ_CHECK(!t.name.empty() && names.insert(t.name).second, "token name " + Q(t.name));
    bool strategy_scope = absl::StartsWith(t.scope, "strategy:");
    FUZZ_CHECK(t.scope == "admin" || strategy_scope, "token scope " + Q(t.scope));
    if (strategy_scope) {
      absl::string_view id = absl::string_view(t.scope).substr(9);
      FUZZ_CHECK(!id.empty() && id.size() <= 64 &&
                     id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_") ==
                         absl::string_view::npos &&
                     id[0] != '-' && id[0] != '_',
                 "token scope " + Q(t.scope));
    }
    FUZZ_CHECK(t.sha256.empty() != t.env.empty(), "token needs exactly one of sha256 and env");
    if (!t.sha256.empty()) {
      FUZZ_CHECK(t.sha256.size() == 64 &&
                     t.sha256.find_first_not_of("0123456789abcdef") == std::string::npos,
                 "token sha256 " + Q(t.sha256));
    }
  }
  FUZZ_CHECK(c.tls.cert_file.empty() == c.tls.key_file.empty(), "tls: one file of two");
  std::set<std::string> ids;
  for (const auto& s : c.strategies) {
    FUZZ_CHECK(!s.id.empty() && s.id.size() <= 64 && ids.insert(s.id).second,
               "strategy id " + Q(s.id));
    FUZZ_CHECK(!s.type.empty(), "strategy without type");
    FUZZ_CHECK(!s.name.empty(), "strategy without name (defaults to the id)");
    for (const auto& p : s.pairs) FUZZ_CHECK(ValidSymbol(p), "strategy pair " + Q(p));
    for (const std::optional<std::string>& v :
         {std::optional<std::string>(s.starting_balance), std::optional<std::string>(s.leverage),
          s.taker_fee_rate}) {
      if (!v) continue;
      auto d = Decimal::Parse(*v);
      FUZZ_CHECK(d.ok() && !d->is_negative(), "strategy value " + Q(*v));
    }
    // A maker rebate is a negative maker rate, above -1 (docs/exchanges.md).
    if (s.maker_fee_rate) {
      auto d = Decimal::Parse(*s.maker_fee_rate);
      FUZZ_CHECK(d.ok() && *d > Decimal::FromInt(-1), "maker_fee_rate " + Q(*s.maker_fee_rate));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view yaml(reinterpret_cast<const char*>(data), size);
  auto config = xctl::ParseConfig(yaml, "fuzz.yaml");
  if (!config.ok()) {
    FUZZ_CHECK(config.status().code() == absl::StatusCode::kInvalidArgument,
               config.status().ToString());
    FUZZ_CHECK(absl::StartsWith(config.status().message(), "fuzz.yaml: "),
               "error does not name the file: " + config.status().ToString());
    return 0;
  }
  if (!config->price.replay_file.empty()) config->price.replay_file = "/dev/null";
  absl::Status valid = xctl::ValidateConfig(*config);
  if (!valid.ok()) {
    FUZZ_CHECK(valid.code() == absl::StatusCode::kInvalidArgument, valid.ToString());
    return 0;
  }
  CheckValid(*config);
  return 0;
}
