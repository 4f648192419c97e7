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

#include "absl/status/status.h"

namespace xctl::api {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace xctl::api
