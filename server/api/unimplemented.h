// Helpers for RPCs whose module has not landed yet: they answer UNIMPLEMENTED
// with a message naming the module, never an empty error.
#pragma once

#include <string>

#include <grpcpp/grpcpp.h>

namespace xctl::api {

// A server-streaming reactor that finishes at once with `status`.
template <typename Response>
class FinishedWriter final : public grpc::ServerWriteReactor<Response> {
 public:
  explicit FinishedWriter(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

inline grpc::Status NotYet(const char* method, const char* module) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                      std::string(method) + " is not available yet: the " +
                          module + " module has not landed in this build");
}

}  // namespace xctl::api

// Defines a unary callback method that answers UNIMPLEMENTED.
#define XCTL_UNARY_NOT_YET(Service, Method, Module)                         \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* ctx,        \
                                   const ::xctl::v1::Method##Request*,      \
                                   ::xctl::v1::Method##Response*) override { \
    auto* reactor = ctx->DefaultReactor();                                  \
    reactor->Finish(::xctl::api::NotYet(#Service "." #Method, Module));     \
    return reactor;                                                         \
  }

// Defines a server-streaming callback method that answers UNIMPLEMENTED.
#define XCTL_STREAM_NOT_YET(Service, Method, Module)                         \
  grpc::ServerWriteReactor<::xctl::v1::Method##Response>* Method(            \
      grpc::CallbackServerContext*, const ::xctl::v1::Method##Request*)      \
      override {                                                             \
    return new ::xctl::api::FinishedWriter<::xctl::v1::Method##Response>(    \
        ::xctl::api::NotYet(#Service "." #Method, Module));                  \
  }
