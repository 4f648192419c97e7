// MeteredExchange: an Exchange that forwards every call to the strategy's
// real exchange and reports what its trading calls did to Telemetry
// (server/common/telemetry.h): each PlaceOrder and ClosePosition by mode and
// result ("ok" or the error's stable reason), and the fills made by those
// calls, by resting orders filled on ticks and by pushed results
// (TakeResults). The default exchange factory
// wraps every exchange it makes in one when it is given a Telemetry.
#pragma once

#include <memory>

#include "server/common/telemetry.h"
#include "server/exchange/exchange.h"

namespace xctl {

class MeteredExchange final : public Exchange {
 public:
  // `telemetry` must outlive this exchange.
  MeteredExchange(std::unique_ptr<Exchange> inner, Telemetry& telemetry)
      : inner_(std::move(inner)), telemetry_(telemetry), mode_(ToString(inner_->mode())) {}

  absl::string_view name() const override { return inner_->name(); }
  TradingMode mode() const override { return inner_->mode(); }
  const std::string& strategy_id() const override { return inner_->strategy_id(); }
  absl::StatusOr<OrderResult> PlaceOrder(const OrderRequest& request) override;
  absl::StatusOr<Order> CancelOrder(const CancelRequest& request) override {
    return inner_->CancelOrder(request);
  }
  absl::StatusOr<OrderResult> ClosePosition(const CloseRequest& request) override;
  absl::StatusOr<std::vector<Order>> OpenOrders() override { return inner_->OpenOrders(); }
  absl::StatusOr<std::vector<Position>> Positions() override { return inner_->Positions(); }
  absl::StatusOr<Account> Balance() override { return inner_->Balance(); }
  absl::StatusOr<Instrument> GetInstrument(absl::string_view symbol) override {
    return inner_->GetInstrument(symbol);
  }
  std::vector<OrderResult> OnTick(const Tick& tick) override;
  bool NeedsTicks() const override { return inner_->NeedsTicks(); }
  void SetResultsReady(ResultsReady ready) override {
    inner_->SetResultsReady(std::move(ready));
  }
  std::vector<OrderResult> TakeResults() override;
  absl::StatusOr<ReconcileReport> Reconcile() override { return inner_->Reconcile(); }

 private:
  // Reports one trading call's outcome; returns it unchanged.
  absl::StatusOr<OrderResult> Report(absl::string_view call, absl::StatusOr<OrderResult> result);
  // Reports the fills of results an exchange made between calls; returns them.
  std::vector<OrderResult> CountFills(std::vector<OrderResult> results);

  const std::unique_ptr<Exchange> inner_;
  Telemetry& telemetry_;
  const absl::string_view mode_;  // "paper" or "live"
};

}  // namespace xctl
