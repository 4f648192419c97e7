// FinishedWriter: a server-streaming reactor that finishes at once with a
// status, for streams refused before they start (bad request, shutdown).
#pragma once

#include <grpcpp/grpcpp.h>

namespace xctl::api {

template <typename Response>
class FinishedWriter final : public grpc::ServerWriteReactor<Response> {
 public:
  explicit FinishedWriter(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace xctl::api
