#include "server/api/status.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/string_view.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "server/common/error_reason.h"

namespace xctl::api {
namespace {

constexpr char kDomain[] = "xctl.dev";
// Set by the BloFin client (server/exchange/blofin/rest_client.cc).
constexpr char kBlofinCodePayload[] = "blofin_code";
// Set by WithOwner.
constexpr char kOwnerPayload[] = "xctl.dev/owner";

// "quantity" of "quantity: must be positive"; empty when the message does not
// start with a field path (letters, digits, '_' and '.').
absl::string_view FieldOf(absl::string_view message) {
  const size_t colon = message.find(": ");
  if (colon == absl::string_view::npos || colon == 0) return {};
  absl::string_view field = message.substr(0, colon);
  for (char c : field) {
    if (!absl::ascii_isalnum(c) && c != '_' && c != '.') return {};
  }
  return field;
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl and gRPC share the canonical code numbers.
  const auto code = static_cast<grpc::StatusCode>(status.code());
  const std::string message(status.message());

  google::rpc::Status details;
  details.set_code(static_cast<int>(status.code()));
  details.set_message(message);
  google::rpc::ErrorInfo info;
  info.set_reason(EffectiveReason(status));
  info.set_domain(kDomain);
  if (auto blofin = status.GetPayload(kBlofinCodePayload)) {
    (*info.mutable_metadata())["blofin_code"] = std::string(*blofin);
  }
  if (auto owner = status.GetPayload(kOwnerPayload)) {
    (*info.mutable_metadata())["owner"] = std::string(*owner);
  }
  details.add_details()->PackFrom(info);
  if (absl::IsUnavailable(status) || absl::IsResourceExhausted(status)) {
    google::rpc::RetryInfo retry;
    retry.mutable_retry_delay()->set_seconds(1);
    details.add_details()->PackFrom(retry);
  }
  if (absl::IsInvalidArgument(status)) {
    if (absl::string_view field = FieldOf(message); !field.empty()) {
      google::rpc::BadRequest bad;
      auto* violation = bad.add_field_violations();
      violation->set_field(std::string(field));
      violation->set_description(std::string(message.substr(field.size() + 2)));
      details.add_details()->PackFrom(bad);
    }
  }
  return grpc::Status(code, message, details.SerializeAsString());
}

absl::Status WithOwner(absl::Status status, absl::string_view node) {
  if (!status.ok()) status.SetPayload(kOwnerPayload, absl::Cord(node));
  return status;
}

std::optional<XctlErrorInfo> XctlErrorOf(const grpc::Status& status) {
  if (status.ok() || status.error_details().empty()) return std::nullopt;
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) return std::nullopt;
  for (const google::protobuf::Any& any : details.details()) {
    google::rpc::ErrorInfo info;
    if (!any.UnpackTo(&info) || info.domain() != kDomain) continue;
    XctlErrorInfo out{.reason = info.reason()};
    if (auto it = info.metadata().find("owner"); it != info.metadata().end()) {
      out.owner = it->second;
    }
    return out;
  }
  return std::nullopt;
}

}  // namespace xctl::api
