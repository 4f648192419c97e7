#include "server/strategy/strategy_validation.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/error_reason.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/common/symbol.h"
#include "server/strategy/credentials_cipher.h"

namespace xctl {
namespace {

constexpr size_t kMaxNameBytes = 200;

// A maker rate may be negative (a rebate, as BloFin pays on some fee tiers),
// down to -1 exclusive; a taker rate is from 0.
absl::Status CheckFeeRate(const std::optional<Decimal>& rate, absl::string_view field,
                          bool rebate_allowed = false) {
  const bool too_low = rebate_allowed ? rate && *rate <= Decimal::FromInt(-1)
                                      : rate && rate->is_negative();
  if (rate && (too_low || *rate >= Decimal::FromInt(1))) {
    return InvalidField(field, absl::StrCat("must be a fraction ",
                                            rebate_allowed ? "above -1 (a rebate) " : "from 0 ",
                                            "up to 1 (0.0006 = 0.06%), got ", rate->ToString()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status StrategyNotFound(absl::string_view id) {
  return WithReason(absl::NotFoundError(absl::StrCat("strategy ", LogQuote(id), " not found")),
                    reason::kStrategyNotFound);
}

absl::Status InvalidField(absl::string_view field, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", message));
}

absl::Status Prefixed(const absl::Status& status, absl::string_view prefix) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(prefix, status.message()));
}

const std::vector<std::string>& UpdatablePaths() {
  static const auto* paths = new std::vector<std::string>{
      "name", "pairs", "params", "starting_balance", "leverage", "taker_fee_rate",
      "maker_fee_rate"};
  return *paths;
}

absl::Status ValidateStrategyFields(const StrategyRecord& r) {
  if (absl::Status s = ValidateStrategyId(r.id); !s.ok()) return InvalidField("id", s.message());
  if (r.name.size() > kMaxNameBytes) {
    return InvalidField("name",
                        absl::StrCat("at most ", kMaxNameBytes, " bytes, got ", r.name.size()));
  }
  if (r.pairs.empty()) {
    return InvalidField("pairs", "at least one BloFin instrument id is required, such as BTC-USDT");
  }
  absl::flat_hash_set<std::string> seen;
  for (const std::string& p : r.pairs) {
    if (absl::Status s = ValidateSymbol(p); !s.ok()) return InvalidField("pairs", s.message());
    if (!seen.insert(p).second) return InvalidField("pairs", absl::StrCat(p, " is listed twice"));
  }
  if (!r.starting_balance.is_positive()) {
    return InvalidField("starting_balance", absl::StrCat("must be greater than 0 (USDT), got ",
                                                         r.starting_balance.ToString()));
  }
  if (!r.leverage.is_positive()) {
    return InvalidField("leverage",
                        absl::StrCat("must be greater than 0, got ", r.leverage.ToString()));
  }
  XCTL_RETURN_IF_ERROR(CheckFeeRate(r.taker_fee_rate, "taker_fee_rate"));
  XCTL_RETURN_IF_ERROR(CheckFeeRate(r.maker_fee_rate, "maker_fee_rate", /*rebate_allowed=*/true));
  return absl::OkStatus();
}

absl::Status ValidateCredentials(const BlofinCredentials& c) {
  if (c.api_key.empty()) return InvalidField("credentials.api_key", "is required");
  if (c.api_secret.empty()) return InvalidField("credentials.api_secret", "is required");
  if (c.passphrase.empty()) return InvalidField("credentials.passphrase", "is required");
  return absl::OkStatus();
}

absl::Status NoMasterKeyError() {
  return absl::FailedPreconditionError(absl::StrCat(
      "this server has no master key for credentials (", kMasterKeyEnv, " or the key file)"));
}

absl::Status CheckUpdateRequest(const StrategyUpdate& u, bool has_cipher) {
  const auto& known = UpdatablePaths();
  for (const std::string& p : u.paths) {
    if (std::find(known.begin(), known.end(), p) == known.end()) {
      return InvalidField("update_mask",
                          absl::StrCat("cannot update ", LogQuote(p),
                                       "; updatable fields: ", absl::StrJoin(known, ", ")));
    }
  }
  if (u.credentials && u.clear_credentials) {
    return InvalidField("credentials", "give either credentials or clear_credentials, not both");
  }
  if (!u.signal_secret.empty() && u.clear_signal_secret) {
    return InvalidField("signal_secret",
                        "give either signal_secret or clear_signal_secret, not both");
  }
  if (u.paths.empty() && !u.credentials && !u.clear_credentials && u.signal_secret.empty() &&
      !u.clear_signal_secret) {
    return InvalidField("update_mask",
                        absl::StrCat("nothing to update: name fields in update_mask (",
                                     absl::StrJoin(known, ", "),
                                     ") or give a credentials or signal secret change"));
  }
  if (u.credentials) XCTL_RETURN_IF_ERROR(ValidateCredentials(*u.credentials));
  if (u.credentials && !has_cipher) return NoMasterKeyError();
  return absl::OkStatus();
}

bool RuntimeFieldsDiffer(const StrategyRecord& a, const StrategyRecord& b) {
  return a.pairs != b.pairs || a.params != b.params || a.starting_balance != b.starting_balance ||
         a.leverage != b.leverage || a.taker_fee_rate != b.taker_fee_rate ||
         a.maker_fee_rate != b.maker_fee_rate ||
         a.credentials_ciphertext != b.credentials_ciphertext;
}

bool SameStoredFields(const StrategyRecord& a, const StrategyRecord& b) {
  return !RuntimeFieldsDiffer(a, b) && a.name == b.name && a.type == b.type &&
         a.running == b.running && a.signal_secret_hash == b.signal_secret_hash;
}

TradingMode ModeOf(const StrategyRecord& r) {
  return r.credentials_ciphertext ? TradingMode::kLive : TradingMode::kPaper;
}

}  // namespace xctl
