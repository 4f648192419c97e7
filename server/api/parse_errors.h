// ParseErrorInterceptor: turns gRPC's answer to a request that does not parse
// into a clear error. A request whose bytes are not a valid message of the
// method's type (most often a string field that is not UTF-8, which protobuf
// refuses for proto3 strings) never reaches xctl's handlers; gRPC itself then
// answers INTERNAL (sync methods) or UNIMPLEMENTED (callback methods) with an
// empty message. This interceptor sees the failed parse (the received message
// is null) and rewrites the final status to INVALID_ARGUMENT with a message
// naming the method. Every other status passes through untouched.
#pragma once

#include <memory>

#include <grpcpp/support/server_interceptor.h>

namespace xctl::api {

class ParseErrorInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;
};

// For grpc::ServerBuilder::experimental().SetInterceptorCreators.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeParseErrorInterceptorFactory();

}  // namespace xctl::api
