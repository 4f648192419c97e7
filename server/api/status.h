// Conversion of absl::Status to grpc::Status: the one place where module
// errors become gRPC errors. Code and message are kept as they are; the
// status details (the grpc-status-details-bin trailer, a google.rpc.Status)
// carry, for every error:
//   - google.rpc.ErrorInfo: `reason` (server/common/error_reason.h; the
//     code's name when the module gave none), `domain` "xctl.dev", and
//     `metadata` "blofin_code" when BloFin's answer gave one;
//   - google.rpc.RetryInfo (1 s) for UNAVAILABLE and RESOURCE_EXHAUSTED,
//     where retrying (with the same client order id) is the thing to do;
//   - google.rpc.BadRequest for INVALID_ARGUMENT whose message names the
//     field ("quantity: must be positive").
// docs/api.md, "Error reasons".
#pragma once

#include <grpcpp/support/status.h>

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace xctl::api {

grpc::Status ToGrpcStatus(const absl::Status& status);

// `status` with the node id of a strategy's owner attached: ToGrpcStatus
// sends it as ErrorInfo metadata "owner" (cluster mode, docs/cluster.md
// "Forwarding").
[[nodiscard]] absl::Status WithOwner(absl::Status status, absl::string_view node);

// From a status another xctld answered (the grpc-status-details-bin that
// ToGrpcStatus wrote): its ErrorInfo reason and metadata "owner"; nullopt
// when the status carries no xctl ErrorInfo (a transport error, or not
// xctld).
struct XctlErrorInfo {
  std::string reason;
  std::string owner;
};
std::optional<XctlErrorInfo> XctlErrorOf(const grpc::Status& status);

}  // namespace xctl::api
