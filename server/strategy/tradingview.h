// tradingview: a signal-driven strategy. Each SubmitSignal (a TradingView
// alert posted through the gateway) becomes one trade:
//   buy / sell  -> a market order of `quantity` contracts, or a limit order
//                  at `price` when the signal has one;
//   close       -> ClosePosition of `quantity` contracts, or of the whole
//                  position when the signal has no quantity.
// The signal's client_order_id makes a repeated alert trade once (the
// manager derives one for a signal without it: DerivedSignalOrderId).
// Params: none. It receives no ticks.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "server/strategy/registry.h"
#include "server/strategy/strategy.h"

namespace xctl {

class TradingViewStrategy final : public Strategy {
 public:
  static constexpr char kType[] = "tradingview";

  // The registry factory; INVALID_ARGUMENT for any param.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Strategy>> Create(
      const StrategyInfo& info, const StrategyParams& params);

  absl::string_view type() const override { return kType; }
  bool signal_driven() const override { return true; }
  absl::StatusOr<OrderResult> OnSignal(const Signal& signal, StrategyContext& context) override;
};

}  // namespace xctl
