#include "server/common/error_reason.h"

#include "absl/strings/cord.h"

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

}  // namespace xctl
