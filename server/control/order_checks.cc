#include "server/control/order_checks.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/error_reason.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"

namespace xctl {

absl::Status CheckClientOrderId(absl::string_view id) {
  if (id.empty()) return absl::OkStatus();
  bool ok = id.size() <= 32;
  for (char c : id) ok = ok && absl::ascii_isalnum(c);
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "client_order_id: 1-32 letters and digits, got ", LogQuote(id)));
  }
  return absl::OkStatus();
}

absl::Status CheckOrderRequest(const OrderRequest& r) {
  if (!r.quantity.is_positive()) {
    return absl::InvalidArgumentError("quantity: must be greater than 0");
  }
  if (IsPriced(r.type) && !r.price) {
    return absl::InvalidArgumentError(
        absl::StrCat("price: required for ", ToString(r.type), " orders"));
  }
  if (r.type == OrderType::kMarket && r.price) {
    return absl::InvalidArgumentError("price: market orders take no price");
  }
  return CheckClientOrderId(r.client_order_id);
}

absl::Status CheckCloseRequest(const CloseRequest& r) {
  XCTL_RETURN_IF_ERROR(CheckClientOrderId(r.client_order_id));
  if (r.quantity && !r.quantity->is_positive()) {
    return absl::InvalidArgumentError("quantity: must be greater than 0 (or unset to close all)");
  }
  return absl::OkStatus();
}

absl::Status CheckRunning(const StrategyInfo& info) {
  return info.running ? absl::OkStatus() : StrategyStopped(info.id);
}

absl::Status CheckTradedSymbol(const StrategyInfo& info, absl::string_view symbol) {
  if (std::find(info.pairs.begin(), info.pairs.end(), symbol) != info.pairs.end()) {
    return absl::OkStatus();
  }
  return WithReason(absl::InvalidArgumentError(absl::StrCat(
                        "symbol: ", LogQuote(symbol), " is not one of strategy ", info.id,
                        "'s pairs (", absl::StrJoin(info.pairs, ", "), ")")),
                    reason::kSymbolNotTraded);
}

absl::Status CheckNoOtherModeRow(const StrategyInfo& info,
                                 const std::optional<Position>& row) {
  if (!row) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      row->symbol, " has an open ", ToString(row->mode), " position (#", row->id,
      ") from before strategy ", info.id, " switched to ", ToString(info.mode()),
      "; close it first with ClosePosition"));
}

}  // namespace xctl
