// RPC metrics: a server interceptor counting every call of xctld's gRPC
// services by method and final code, timing unary calls and counting the
// streams open per method, into the metrics registry (server/metrics/):
//
//   xctl_rpc_requests_total{method,code}       counter
//   xctl_rpc_duration_seconds{method}          histogram (unary calls)
//   xctl_rpc_open_streams{method}              gauge (streaming calls)
//
// `method` is the full gRPC name ("/xctl.v1.ExchangeControl/PlaceOrder"),
// `code` the status name ("OK", "INVALID_ARGUMENT"). Time from the Clock.
#pragma once

#include <memory>

#include <grpcpp/support/server_interceptor.h>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "server/common/clock.h"

namespace xctl::api {

class RpcMetrics final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  RpcMetrics(prometheus::Registry& registry, Clock& clock);

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  friend class RpcMetricsInterceptor;
  Clock& clock_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Family<prometheus::Gauge>& open_streams_;
};

// The interceptor factory for grpc::ServerBuilder; `metrics` must outlive
// the server.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeRpcMetricsFactory(
    RpcMetrics* metrics);

}  // namespace xctl::api
