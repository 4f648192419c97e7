#include "server/common/error_reason.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "server/common/log.h"

namespace xctl {
namespace {

// The payload type URL under which the reason travels inside absl::Status.
constexpr char kReasonPayload[] = "type.xctl.dev/reason";

}  // namespace

absl::Status WithReason(absl::Status status, absl::string_view reason) {
  if (!status.ok()) status.SetPayload(kReasonPayload, absl::Cord(reason));
  return status;
}

std::optional<std::string> ReasonOf(const absl::Status& status) {
  auto payload = status.GetPayload(kReasonPayload);
  if (!payload) return std::nullopt;
  return std::string(*payload);
}

std::string EffectiveReason(const absl::Status& status) {
  if (status.ok()) return "";
  if (std::optional<std::string> reason = ReasonOf(status)) return *reason;
  return absl::StatusCodeToString(status.code());
}

absl::Status UnknownStrategy(absl::string_view strategy_id) {
  return WithReason(absl::NotFoundError(absl::StrCat("unknown strategy ", LogQuote(strategy_id))),
                    reason::kStrategyNotFound);
}

absl::Status StrategyStopped(absl::string_view strategy_id) {
  return WithReason(absl::FailedPreconditionError(
                        absl::StrCat("strategy ", strategy_id, " is stopped; start it to trade")),
                    reason::kStrategyNotRunning);
}

absl::Status ClientOrderIdReused(absl::string_view client_order_id, absl::string_view existing) {
  return WithReason(absl::FailedPreconditionError(absl::StrCat(
                        "client order id ", LogQuote(client_order_id),
                        " was already used for a different order (", existing, ")")),
                    reason::kClientOrderIdReused);
}

}  // namespace xctl
