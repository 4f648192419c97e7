#include "server/strategy/tradingview.h"

#include "server/common/status_macros.h"

namespace xctl {

absl::StatusOr<std::unique_ptr<Strategy>> TradingViewStrategy::Create(
    const StrategyInfo& info, const StrategyParams& params) {
  XCTL_RETURN_IF_ERROR(strategy_params::CheckKnown(kType, params, {}));
  return std::make_unique<TradingViewStrategy>();
}

absl::StatusOr<OrderResult> TradingViewStrategy::OnSignal(const Signal& signal,
                                                          StrategyContext& context) {
  if (signal.action == SignalAction::kClose) {
    return context.ClosePosition({.symbol = signal.symbol,
                                  .quantity = signal.quantity,
                                  .client_order_id = signal.client_order_id});
  }
  if (!signal.quantity) {
    return absl::InvalidArgumentError("quantity: required for buy and sell");
  }
  return context.PlaceOrder({.client_order_id = signal.client_order_id,
                             .symbol = signal.symbol,
                             .side = signal.action == SignalAction::kBuy ? Side::kBuy : Side::kSell,
                             .type = signal.price ? OrderType::kLimit : OrderType::kMarket,
                             .price = signal.price,
                             .quantity = *signal.quantity});
}

}  // namespace xctl
