#include "server/api/rpc_metrics.h"

#include <string>

#include "absl/status/status.h"

namespace xctl::api {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::ServerRpcInfo;

namespace {

// Seconds, from 1 ms to 10 s: a paper order takes about a millisecond, a
// live one a BloFin round trip.
const prometheus::Histogram::BucketBoundaries kBuckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

// Forwards CreateServerInterceptor to an RpcMetrics that the builder does
// not own.
class Forward final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit Forward(RpcMetrics* to) : to_(to) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(ServerRpcInfo* info) override {
    return to_->CreateServerInterceptor(info);
  }

 private:
  RpcMetrics* to_;
};

}  // namespace

class RpcMetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  RpcMetricsInterceptor(RpcMetrics& metrics, ServerRpcInfo* info)
      : metrics_(metrics),
        method_(info->method() ? info->method() : ""),
        unary_(info->type() == ServerRpcInfo::Type::UNARY),
        start_(metrics.clock_.Now()) {
    if (!unary_) {
      open_ = &metrics_.open_streams_.Add({{"method", method_}});
      open_->Increment();
    }
  }
  ~RpcMetricsInterceptor() override {
    if (open_ != nullptr) open_->Decrement();
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      const std::string code(
          absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())));
      metrics_.requests_.Add({{"method", method_}, {"code", code}}).Increment();
      if (unary_) {
        metrics_.duration_.Add({{"method", method_}}, kBuckets)
            .Observe(absl::ToDoubleSeconds(metrics_.clock_.Now() - start_));
      }
    }
    methods->Proceed();
  }

 private:
  RpcMetrics& metrics_;
  const std::string method_;
  const bool unary_;
  const absl::Time start_;
  prometheus::Gauge* open_ = nullptr;
};

RpcMetrics::RpcMetrics(prometheus::Registry& registry, Clock& clock)
    : clock_(clock),
      requests_(prometheus::BuildCounter()
                    .Name("xctl_rpc_requests_total")
                    .Help("gRPC calls by method and final status code")
                    .Register(registry)),
      duration_(prometheus::BuildHistogram()
                    .Name("xctl_rpc_duration_seconds")
                    .Help("time to answer a unary gRPC call, by method")
                    .Register(registry)),
      open_streams_(prometheus::BuildGauge()
                        .Name("xctl_rpc_open_streams")
                        .Help("streaming gRPC calls open now, by method")
                        .Register(registry)) {}

grpc::experimental::Interceptor* RpcMetrics::CreateServerInterceptor(ServerRpcInfo* info) {
  return new RpcMetricsInterceptor(*this, info);
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeRpcMetricsFactory(
    RpcMetrics* metrics) {
  return std::make_unique<Forward>(metrics);
}

}  // namespace xctl::api
