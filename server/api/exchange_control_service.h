// ExchangeControlService: the ExchangeControl gRPC service on exchange
// control: trades through the OrderRouter (server/control/order_router.h),
// reads positions, orders, KPIs and the feed from the Portfolio
// (server/control/portfolio.h). It parses the proto fields only; the orders
// are validated by control (server/control/order_checks.h). Unary RPCs run on gRPC's sync
// thread pool (a BloFin call may wait on the network); the two streams use the
// callback API, one reactor per stream fed by a conflating feed subscription:
// snapshot first, then one update message per batch of changes, heartbeats
// when quiet, UNAVAILABLE at shutdown.
#pragma once

#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/api/auth.h"
#include "server/api/forwarder.h"
#include "server/api/stream_hub.h"
#include "server/control/order_router.h"
#include "server/control/portfolio.h"
#include "server/model/instruments.h"
#include "xctl/v1/exchange_control.grpc.pb.h"

namespace xctl::api {

using ExchangeControlBase = v1::ExchangeControl::WithCallbackMethod_StreamPositions<
    v1::ExchangeControl::WithCallbackMethod_StreamKpis<v1::ExchangeControl::Service>>;

class ExchangeControlService final : public ExchangeControlBase {
 public:
  struct Options {
    absl::Duration heartbeat_interval = absl::Seconds(10);
    // Pairs listed by ListInstruments when the request names none.
    std::vector<std::string> configured_pairs;
    // Checks tokens when set (must outlive the service).
    const Authorizer* auth = nullptr;
    // Cluster mode (docs/cluster.md, "Streams"): the views of strategies
    // other instances run, as their owners published them on NATS
    // (server/cluster/cluster_feed.h). StreamPositions / StreamKpis snapshots
    // add them after the local views; a local view wins over a remote one
    // with the same position id or strategy id. Unset: local views only.
    std::function<std::vector<PositionView>(const FeedFilter&)> remote_positions;
    std::function<std::vector<KpiView>(const FeedFilter&)> remote_kpis;
    // Cluster mode (docs/cluster.md, "Cluster-wide KPIs"): GetKpis by type
    // and over all answers this (every owner's published KPIs, the same on
    // every instance) instead of the local Portfolio, and GetKpis of a
    // strategy another instance runs answers its published KPIs when there
    // are any. Unset: the local Portfolio answers everything.
    std::function<absl::StatusOr<Portfolio::KpiReport>(absl::string_view strategy_id,
                                                       absl::string_view strategy_type)>
        cluster_kpis;
    // Cluster mode (docs/cluster.md, "Forwarding"): trade calls and
    // GetBalance / ReconcileStrategy for a strategy another instance runs
    // go to that instance. Must outlive the service. Unset: answered here.
    Forwarder* forwarder = nullptr;
  };
  // `router` and `portfolio` must outlive the service.
  ExchangeControlService(OrderRouter& router, Portfolio& portfolio,
                         const InstrumentCatalog& instruments, Options options);
  ~ExchangeControlService() override;

  grpc::Status PlaceOrder(grpc::ServerContext*, const v1::PlaceOrderRequest*,
                          v1::PlaceOrderResponse*) override;
  grpc::Status CancelOrder(grpc::ServerContext*, const v1::CancelOrderRequest*,
                           v1::CancelOrderResponse*) override;
  grpc::Status ClosePosition(grpc::ServerContext*, const v1::ClosePositionRequest*,
                             v1::ClosePositionResponse*) override;
  grpc::Status ListPositions(grpc::ServerContext*, const v1::ListPositionsRequest*,
                             v1::ListPositionsResponse*) override;
  grpc::Status ListOrders(grpc::ServerContext*, const v1::ListOrdersRequest*,
                          v1::ListOrdersResponse*) override;
  grpc::Status GetBalance(grpc::ServerContext*, const v1::GetBalanceRequest*,
                          v1::GetBalanceResponse*) override;
  grpc::Status ListInstruments(grpc::ServerContext*, const v1::ListInstrumentsRequest*,
                               v1::ListInstrumentsResponse*) override;
  grpc::Status GetKpis(grpc::ServerContext*, const v1::GetKpisRequest*,
                       v1::GetKpisResponse*) override;
  grpc::Status ReconcileStrategy(grpc::ServerContext*, const v1::ReconcileStrategyRequest*,
                                 v1::ReconcileStrategyResponse*) override;
  grpc::ServerWriteReactor<v1::StreamPositionsResponse>* StreamPositions(
      grpc::CallbackServerContext* ctx, const v1::StreamPositionsRequest* request) override;
  grpc::ServerWriteReactor<v1::StreamKpisResponse>* StreamKpis(
      grpc::CallbackServerContext* ctx, const v1::StreamKpisRequest* request) override;

  // Finishes every open stream with UNAVAILABLE and refuses new ones.
  void Shutdown();
  size_t open_streams() const;

 private:
  absl::Status Authorize(const grpc::ServerContextBase* ctx, Authorizer::Access access,
                         absl::string_view strategy_id) const;

  OrderRouter& router_;
  Portfolio& portfolio_;
  const InstrumentCatalog& instruments_;
  const Options options_;
  StreamHub hub_;
};

}  // namespace xctl::api
