#include "server/strategy/registry.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/common/symbol.h"
#include "server/strategy/external.h"
#include "server/strategy/sma_cross.h"
#include "server/strategy/tradingview.h"

namespace xctl {

absl::Status StrategyRegistry::Register(absl::string_view type, Factory factory) {
  // Type names follow the strategy id rules (lowercase, digits, '-', '_').
  if (!ValidateStrategyId(type).ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid strategy type name ", LogQuote(type),
        ": expected 1-64 characters of a-z, 0-9, '-' and '_'"));
  }
  if (!factory) {
    return absl::InvalidArgumentError(absl::StrCat("strategy type ", type, " has no factory"));
  }
  auto [it, inserted] = factories_.emplace(std::string(type), std::move(factory));
  if (!inserted) {
    return absl::AlreadyExistsError(absl::StrCat("strategy type ", type, " is already registered"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Strategy>> StrategyRegistry::Create(
    absl::string_view type, const StrategyInfo& info, const StrategyParams& params) const {
  XCTL_RETURN_IF_ERROR(CheckType(type));
  auto it = factories_.find(type);
  auto strategy = it->second(info, params);
  if (strategy.ok() && *strategy == nullptr) {
    return absl::InternalError(absl::StrCat("strategy type ", type, " built no instance"));
  }
  return strategy;
}

absl::Status StrategyRegistry::CheckType(absl::string_view type) const {
  if (factories_.contains(type)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("unknown strategy type ", LogQuote(type),
                                                 "; known types: ", absl::StrJoin(Types(), ", ")));
}

bool StrategyRegistry::Has(absl::string_view type) const { return factories_.contains(type); }

std::vector<std::string> StrategyRegistry::Types() const {
  std::vector<std::string> out;
  for (const auto& [name, factory] : factories_) out.push_back(name);
  return out;
}

absl::Status RegisterBuiltinStrategies(StrategyRegistry& registry) {
  // One line per built-in type.
  XCTL_RETURN_IF_ERROR(registry.Register(SmaCrossStrategy::kType, &SmaCrossStrategy::Create));
  XCTL_RETURN_IF_ERROR(registry.Register(TradingViewStrategy::kType, &TradingViewStrategy::Create));
  XCTL_RETURN_IF_ERROR(registry.Register(ExternalStrategy::kType, &ExternalStrategy::Create));
  return absl::OkStatus();
}

namespace strategy_params {

absl::Status CheckKnown(absl::string_view type, const StrategyParams& params,
                        const std::vector<std::string>& known) {
  for (const auto& [name, value] : params) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          type, " has no param ", LogQuote(name), "; its params are: ",
          known.empty() ? std::string("(none)") : absl::StrJoin(known, ", ")));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int> Int(absl::string_view type, const StrategyParams& params,
                        absl::string_view name, int fallback, int min, int max) {
  auto it = params.find(std::string(name));
  if (it == params.end()) return fallback;
  int value = 0;
  if (!absl::SimpleAtoi(it->second, &value) || value < min || value > max) {
    return absl::InvalidArgumentError(absl::StrCat(type, " param ", name,
                                                   ": expected a whole number from ", min,
                                                   " to ", max, ", got ", LogQuote(it->second)));
  }
  return value;
}

absl::StatusOr<Decimal> PositiveDecimal(absl::string_view type, const StrategyParams& params,
                                        absl::string_view name, absl::string_view fallback) {
  auto it = params.find(std::string(name));
  absl::string_view text = it == params.end() ? fallback : absl::string_view(it->second);
  auto value = Decimal::Parse(text);
  if (!value.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(type, " param ", name, ": ", value.status().message()));
  }
  if (!value->is_positive()) {
    return absl::InvalidArgumentError(absl::StrCat(type, " param ", name,
                                                   ": must be greater than 0, got ",
                                                   LogQuote(text)));
  }
  return *value;
}

}  // namespace strategy_params
}  // namespace xctl
