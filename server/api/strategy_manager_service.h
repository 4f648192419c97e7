// StrategyManagerService: the gRPC face of the StrategyManager
// (strategy_manager.proto). It converts requests to the manager's types,
// checking and naming malformed fields (INVALID_ARGUMENT), and the manager's
// results back; errors keep the manager's code and message. Credentials and
// signal secrets go in, never out: no response or log line carries them.
//
// It uses gRPC's synchronous API on purpose: every method may wait on the
// database or on BloFin (a live strategy's reconciliation), and callback-API
// handlers must never block. The sync thread pool absorbs that; gRPC serves
// sync and callback services (PriceFeed) side by side on one server.
#pragma once

#include <grpcpp/grpcpp.h>

#include "server/api/auth.h"
#include "server/api/forwarder.h"
#include "server/strategy/strategy_manager.h"
#include "xctl/v1/strategy_manager.grpc.pb.h"

namespace xctl::api {

class StrategyManagerService final : public v1::StrategyManager::Service {
 public:
  // `manager` (and `auth`, when given) must outlive the service.
  // With `forwarder` (cluster mode, docs/cluster.md "Forwarding"; must
  // outlive the service), Start/Stop/Update/DeleteStrategy and SubmitSignal
  // (its secret checked here first) of a strategy another instance runs go
  // to that instance.
  explicit StrategyManagerService(StrategyManager& manager, const Authorizer* auth = nullptr,
                                  Forwarder* forwarder = nullptr)
      : manager_(manager), auth_(auth), forwarder_(forwarder) {}

  grpc::Status CreateStrategy(grpc::ServerContext* ctx, const v1::CreateStrategyRequest* request,
                              v1::CreateStrategyResponse* response) override;
  grpc::Status UpdateStrategy(grpc::ServerContext* ctx, const v1::UpdateStrategyRequest* request,
                              v1::UpdateStrategyResponse* response) override;
  grpc::Status DeleteStrategy(grpc::ServerContext* ctx, const v1::DeleteStrategyRequest* request,
                              v1::DeleteStrategyResponse* response) override;
  grpc::Status ListStrategies(grpc::ServerContext* ctx, const v1::ListStrategiesRequest* request,
                              v1::ListStrategiesResponse* response) override;
  grpc::Status GetStrategy(grpc::ServerContext* ctx, const v1::GetStrategyRequest* request,
                           v1::GetStrategyResponse* response) override;
  grpc::Status StartStrategy(grpc::ServerContext* ctx, const v1::StartStrategyRequest* request,
                             v1::StartStrategyResponse* response) override;
  grpc::Status StopStrategy(grpc::ServerContext* ctx, const v1::StopStrategyRequest* request,
                            v1::StopStrategyResponse* response) override;
  grpc::Status SubmitSignal(grpc::ServerContext* ctx, const v1::SubmitSignalRequest* request,
                            v1::SubmitSignalResponse* response) override;

 private:
  absl::Status Authorize(const grpc::ServerContext* ctx, Authorizer::Access access,
                         absl::string_view strategy_id) const;

  StrategyManager& manager_;
  const Authorizer* const auth_;
  Forwarder* const forwarder_;
};

// Conversions, exposed for tests.
void ToProto(const StrategyView& view, v1::Strategy* out);
v1::StrategyStatus ToProto(StrategyStatus status);
// INVALID_ARGUMENT "strategy.<field>: ..." for malformed decimals.
absl::StatusOr<StrategySpec> SpecFromProto(const v1::Strategy& strategy);

}  // namespace xctl::api
