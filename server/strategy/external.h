// external: a strategy that runs in its own process (the Python client's
// example strategy, a notebook, ...) and trades through the gRPC API
// (ExchangeControl.PlaceOrder with its strategy id). xctl only keeps its
// record, its exchange (paper or live) and its running status: a stopped
// external strategy's orders are refused by exchange control. It receives no
// ticks and no signals. Params are free-form: xctl keeps them for the
// external process to read (GetStrategy), without checking them.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "server/strategy/registry.h"
#include "server/strategy/strategy.h"

namespace xctl {

class ExternalStrategy final : public Strategy {
 public:
  static constexpr char kType[] = "external";

  // The registry factory; accepts any params.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Strategy>> Create(
      const StrategyInfo& info, const StrategyParams& params);

  absl::string_view type() const override { return kType; }
};

}  // namespace xctl
