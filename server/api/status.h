// Conversion of absl::Status to grpc::Status: the one place where module
// errors become gRPC errors (code and message kept as they are).
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace xctl::api {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace xctl::api
