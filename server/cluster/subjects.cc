#include "server/cluster/subjects.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "server/common/symbol.h"

namespace xctl::cluster {
namespace {

constexpr absl::string_view kStrategyLeasePrefix = "strategy:";

}  // namespace

absl::StatusOr<std::string> PriceSubject(absl::string_view pair) {
  if (absl::Status s = ValidateSymbol(pair); !s.ok()) return s;
  return absl::StrCat(kPricePrefix, pair);
}

std::optional<std::string> PairOfPriceSubject(absl::string_view subject) {
  if (!absl::ConsumePrefix(&subject, kPricePrefix)) return std::nullopt;
  if (!ValidateSymbol(subject).ok()) return std::nullopt;
  return std::string(subject);
}

absl::StatusOr<std::string> PositionSubject(absl::string_view strategy_id) {
  if (absl::Status s = ValidateStrategyId(strategy_id); !s.ok()) return s;
  return absl::StrCat(kPositionPrefix, strategy_id);
}

absl::StatusOr<std::string> KpiSubject(absl::string_view strategy_id) {
  if (absl::Status s = ValidateStrategyId(strategy_id); !s.ok()) return s;
  return absl::StrCat(kKpiPrefix, strategy_id);
}

absl::StatusOr<std::string> StrategyLeaseName(absl::string_view strategy_id) {
  if (absl::Status s = ValidateStrategyId(strategy_id); !s.ok()) return s;
  return absl::StrCat(kStrategyLeasePrefix, strategy_id);
}

std::optional<std::string> StrategyOfLeaseName(absl::string_view lease_name) {
  if (!absl::ConsumePrefix(&lease_name, kStrategyLeasePrefix)) return std::nullopt;
  if (!ValidateStrategyId(lease_name).ok()) return std::nullopt;
  return std::string(lease_name);
}

}  // namespace xctl::cluster
