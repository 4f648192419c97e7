// StrategyRegistry: strategy type name -> factory. The StrategyManager builds
// every instance through it, so a strategy's params are validated the same
// way at Create, Update and at start-up. Adding a built-in type is one
// Strategy subclass and one line in RegisterBuiltinStrategies.
//
// Registration happens at start-up, before the registry is shared; after
// that it is only read (const), which is thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/control/strategy_info.h"
#include "server/strategy/strategy.h"

namespace xctl {

// A strategy's type-specific settings, as stored ({"fast": "5"}).
using StrategyParams = std::map<std::string, std::string>;

class StrategyRegistry {
 public:
  // Builds an instance for `info` (id, pairs, ...) with `params`; returns
  // INVALID_ARGUMENT naming the param and the expected form for bad params.
  using Factory = std::function<absl::StatusOr<std::unique_ptr<Strategy>>(
      const StrategyInfo& info, const StrategyParams& params)>;

  // Adds a type. INVALID_ARGUMENT for a name that is not 1-64 characters of
  // [a-z0-9_-]; ALREADY_EXISTS when the name is taken.
  [[nodiscard]] absl::Status Register(absl::string_view type, Factory factory);

  // Builds an instance of `type`. INVALID_ARGUMENT for an unknown type (the
  // message lists the known ones) or bad params.
  [[nodiscard]] absl::StatusOr<std::unique_ptr<Strategy>> Create(
      absl::string_view type, const StrategyInfo& info, const StrategyParams& params) const;

  // OK for a registered type; INVALID_ARGUMENT listing the known ones
  // otherwise.
  [[nodiscard]] absl::Status CheckType(absl::string_view type) const;
  bool Has(absl::string_view type) const;
  // The registered names, sorted.
  std::vector<std::string> Types() const;

 private:
  std::map<std::string, Factory, std::less<>> factories_;
};

// Registers sma_cross, tradingview and external. ALREADY_EXISTS when one of
// them is registered already.
[[nodiscard]] absl::Status RegisterBuiltinStrategies(StrategyRegistry& registry);

// Helpers for factories: each returns INVALID_ARGUMENT
// "<type> param <name>: ..." naming what is expected.
namespace strategy_params {

// Refuses params not in `known`.
[[nodiscard]] absl::Status CheckKnown(absl::string_view type, const StrategyParams& params,
                                      const std::vector<std::string>& known);
// An integer in [min, max]; `fallback` when absent.
[[nodiscard]] absl::StatusOr<int> Int(absl::string_view type, const StrategyParams& params,
                                      absl::string_view name, int fallback, int min, int max);
// A decimal > 0; `fallback` when absent.
[[nodiscard]] absl::StatusOr<Decimal> PositiveDecimal(absl::string_view type,
                                                      const StrategyParams& params,
                                                      absl::string_view name,
                                                      absl::string_view fallback);

}  // namespace strategy_params
}  // namespace xctl
