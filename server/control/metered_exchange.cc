#include "server/control/metered_exchange.h"

#include <string>
#include <utility>

#include "server/common/error_reason.h"

namespace xctl {

absl::StatusOr<OrderResult> MeteredExchange::PlaceOrder(const OrderRequest& request) {
  return Report("place", inner_->PlaceOrder(request));
}

absl::StatusOr<OrderResult> MeteredExchange::ClosePosition(const CloseRequest& request) {
  return Report("close", inner_->ClosePosition(request));
}

std::vector<OrderResult> MeteredExchange::OnTick(const Tick& tick) {
  return CountFills(inner_->OnTick(tick));
}

std::vector<OrderResult> MeteredExchange::TakeResults() {
  return CountFills(inner_->TakeResults());
}

std::vector<OrderResult> MeteredExchange::CountFills(std::vector<OrderResult> results) {
  int fills = 0;
  for (const OrderResult& r : results) fills += static_cast<int>(r.fills.size());
  telemetry_.Fills(mode_, fills);
  return results;
}

absl::StatusOr<OrderResult> MeteredExchange::Report(absl::string_view call,
                                                    absl::StatusOr<OrderResult> result) {
  if (!result.ok()) {
    telemetry_.Order(mode_, call, EffectiveReason(result.status()));
    return result;
  }
  telemetry_.Order(mode_, call, result->replayed ? "replayed" : "ok");
  if (!result->replayed) telemetry_.Fills(mode_, static_cast<int>(result->fills.size()));
  return result;
}

}  // namespace xctl
