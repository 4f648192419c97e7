#include "server/api/strategy_manager_service.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/api/convert.h"
#include "server/api/status.h"
#include "server/api/trading_convert.h"
#include "server/common/status_macros.h"
#include "server/common/symbol.h"

namespace xctl::api {
namespace {

// A strategy id in a request: required and well-formed.
absl::Status CheckId(const std::string& id, absl::string_view field) {
  if (id.empty()) return absl::InvalidArgumentError(absl::StrCat(field, " is required"));
  if (absl::Status s = ValidateStrategyId(id); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", s.message()));
  }
  return absl::OkStatus();
}

BlofinCredentials CredentialsFromProto(const v1::Credentials& c) {
  return BlofinCredentials{.api_key = Secret(c.api_key()),
                           .api_secret = Secret(c.api_secret()),
                           .passphrase = Secret(c.passphrase())};
}

absl::StatusOr<std::optional<StrategyStatus>> StatusFilter(v1::StrategyStatus status) {
  switch (status) {
    case v1::STRATEGY_STATUS_UNSPECIFIED: return std::optional<StrategyStatus>();
    case v1::STRATEGY_STATUS_STOPPED: return std::optional(StrategyStatus::kStopped);
    case v1::STRATEGY_STATUS_RUNNING: return std::optional(StrategyStatus::kRunning);
    case v1::STRATEGY_STATUS_FAILED: return std::optional(StrategyStatus::kFailed);
    default:
      return UnknownEnumValue(v1::StrategyStatus_descriptor(), status, "status");
  }
}

void ToProto(const OrderResult& result, v1::SubmitSignalResponse* out) {
  ::xctl::api::ToProto(result.order, out->mutable_order());
  for (const Fill& f : result.fills) ::xctl::api::ToProto(f, out->add_fills());
  out->set_replayed(result.replayed);
}

}  // namespace

v1::StrategyStatus ToProto(StrategyStatus status) {
  switch (status) {
    case StrategyStatus::kStopped: return v1::STRATEGY_STATUS_STOPPED;
    case StrategyStatus::kRunning: return v1::STRATEGY_STATUS_RUNNING;
    case StrategyStatus::kFailed: return v1::STRATEGY_STATUS_FAILED;
  }
  return v1::STRATEGY_STATUS_UNSPECIFIED;
}

void ToProto(const StrategyView& v, v1::Strategy* out) {
  out->set_id(v.id);
  out->set_name(v.name);
  out->set_type(v.type);
  out->set_mode(ToProto(v.mode));
  out->set_status(ToProto(v.status));
  out->set_status_message(v.status_message);
  for (const std::string& p : v.pairs) out->add_pairs(p);
  for (const auto& [k, value] : v.params) (*out->mutable_params())[k] = value;
  ToProto(v.starting_balance, out->mutable_starting_balance());
  ToProto(v.leverage, out->mutable_leverage());
  if (v.taker_fee_rate) ToProto(*v.taker_fee_rate, out->mutable_taker_fee_rate());
  if (v.maker_fee_rate) ToProto(*v.maker_fee_rate, out->mutable_maker_fee_rate());
  out->set_has_credentials(v.has_credentials);
  out->set_has_signal_secret(v.has_signal_secret);
  ToProtoTime(v.created_at_ms, out->mutable_create_time());
  ToProtoTime(v.updated_at_ms, out->mutable_update_time());
}

absl::StatusOr<StrategySpec> SpecFromProto(const v1::Strategy& s) {
  StrategySpec spec{.id = s.id(), .name = s.name(), .type = s.type()};
  spec.pairs.assign(s.pairs().begin(), s.pairs().end());
  spec.params.insert(s.params().begin(), s.params().end());
  XCTL_ASSIGN_OR_RETURN(spec.starting_balance,
                        OptionalDecimal(s.starting_balance(), "strategy.starting_balance"));
  XCTL_ASSIGN_OR_RETURN(spec.leverage, OptionalDecimal(s.leverage(), "strategy.leverage"));
  XCTL_ASSIGN_OR_RETURN(spec.taker_fee_rate,
                        OptionalDecimal(s.taker_fee_rate(), "strategy.taker_fee_rate"));
  XCTL_ASSIGN_OR_RETURN(spec.maker_fee_rate,
                        OptionalDecimal(s.maker_fee_rate(), "strategy.maker_fee_rate"));
  return spec;
}

grpc::Status StrategyManagerService::CreateStrategy(grpc::ServerContext* ctx,
                                                    const v1::CreateStrategyRequest* request,
                                                    v1::CreateStrategyResponse* response) {
  if (absl::Status a = Authorize(ctx, Authorizer::Access::kAdmin, ""); !a.ok()) {
    return ToGrpcStatus(a);
  }
  if (!request->has_strategy()) {
    return ToGrpcStatus(absl::InvalidArgumentError("strategy is required"));
  }
  if (!request->strategy().id().empty()) {
    if (absl::Status s = CheckId(request->strategy().id(), "strategy.id"); !s.ok()) {
      return ToGrpcStatus(s);
    }
  }
  auto spec = SpecFromProto(request->strategy());
  if (!spec.ok()) return ToGrpcStatus(spec.status());
  NewStrategy create{.spec = *std::move(spec),
                     .signal_secret = request->signal_secret(),
                     .start = request->start()};
  if (request->has_credentials()) create.credentials = CredentialsFromProto(request->credentials());
  auto view = manager_.Create(create);
  if (!view.ok()) return ToGrpcStatus(view.status());
  ToProto(*view, response->mutable_strategy());
  return grpc::Status::OK;
}

grpc::Status StrategyManagerService::UpdateStrategy(grpc::ServerContext* ctx,
                                                    const v1::UpdateStrategyRequest* request,
                                                    v1::UpdateStrategyResponse* response) {
  if (absl::Status a = Authorize(ctx, Authorizer::Access::kAdmin, ""); !a.ok()) {
    return ToGrpcStatus(a);
  }
  if (absl::Status s = CheckId(request->strategy().id(), "strategy.id"); !s.ok()) {
    return ToGrpcStatus(s);
  }
  auto spec = SpecFromProto(request->strategy());
  if (!spec.ok()) return ToGrpcStatus(spec.status());
  if (auto forwarded = MaybeForward(forwarder_, *ctx, request->strategy().id(),
                                    &v1::StrategyManager::Stub::UpdateStrategy, *request,
                                    response)) {
    return *forwarded;
  }
  StrategyUpdate update{.id = request->strategy().id(),
                        .values = *std::move(spec),
                        .clear_credentials = request->clear_credentials(),
                        .signal_secret = request->signal_secret(),
                        .clear_signal_secret = request->clear_signal_secret()};
  update.paths.assign(request->update_mask().paths().begin(),
                      request->update_mask().paths().end());
  if (request->has_credentials()) update.credentials = CredentialsFromProto(request->credentials());
  auto view = manager_.Update(update);
  if (!view.ok()) return ToGrpcStatus(view.status());
  ToProto(*view, response->mutable_strategy());
  return grpc::Status::OK;
}

grpc::Status StrategyManagerService::DeleteStrategy(grpc::ServerContext* ctx,
                                                    const v1::DeleteStrategyRequest* request,
                                                    v1::DeleteStrategyResponse* response) {
  if (absl::Status a = Authorize(ctx, Authorizer::Access::kAdmin, ""); !a.ok()) {
    return ToGrpcStatus(a);
  }
  if (absl::Status s = CheckId(request->id(), "id"); !s.ok()) return ToGrpcStatus(s);
  if (auto forwarded = MaybeForward(forwarder_, *ctx, request->id(),
                                    &v1::StrategyManager::Stub::DeleteStrategy, *request,
                                    response)) {
    return *forwarded;
  }
  return ToGrpcStatus(manager_.Delete(request->id()));
}

grpc::Status StrategyManagerService::ListStrategies(grpc::ServerContext* ctx,
                                                    const v1::ListStrategiesRequest* request,
                                                    v1::ListStrategiesResponse* response) {
  if (absl::Status a = Authorize(ctx, Authorizer::Access::kRead, ""); !a.ok()) {
    return ToGrpcStatus(a);
  }
  auto status = StatusFilter(request->status());
  if (!status.ok()) return ToGrpcStatus(status.status());
  auto mode = TradingModeFilter(request->mode(), "mode");
  if (!mode.ok()) return ToGrpcStatus(mode.status());
  StrategyFilter filter{.type = request->type(), .status = *status, .mode = *mode};
  for (const StrategyView& v : manager_.List(filter)) ToProto(v, response->add_strategies());
  return grpc::Status::OK;
}

grpc::Status StrategyManagerService::GetStrategy(grpc::ServerContext* ctx,
                                                 const v1::GetStrategyRequest* request,
                                                 v1::GetStrategyResponse* response) {
  if (absl::Status a = Authorize(ctx, Authorizer::Access::kRead, request->id()); !a.ok()) {
    return ToGrpcStatus(a);
  }
  if (absl::Status s = CheckId(request->id(), "id"); !s.ok()) return ToGrpcStatus(s);
  auto view = manager_.Get(request->id());
  if (!view.ok()) return ToGrpcStatus(view.status());
  ToProto(*view, response->mutable_strategy());
  return grpc::Status::OK;
}

grpc::Status StrategyManagerService::StartStrategy(grpc::ServerContext* ctx,
                                                   const v1::StartStrategyRequest* request,
                                                   v1::StartStrategyResponse* response) {
  if (absl::Status a = Authorize(ctx, Authorizer::Access::kAdmin, ""); !a.ok()) {
    return ToGrpcStatus(a);
  }
  if (absl::Status s = CheckId(request->id(), "id"); !s.ok()) return ToGrpcStatus(s);
  if (auto forwarded = MaybeForward(forwarder_, *ctx, request->id(),
                                    &v1::StrategyManager::Stub::StartStrategy, *request,
                                    response)) {
    return *forwarded;
  }
  auto view = manager_.StartStrategy(request->id());
  if (!view.ok()) return ToGrpcStatus(view.status());
  ToProto(*view, response->mutable_strategy());
  return grpc::Status::OK;
}

grpc::Status StrategyManagerService::StopStrategy(grpc::ServerContext* ctx,
                                                  const v1::StopStrategyRequest* request,
                                                  v1::StopStrategyResponse* response) {
  if (absl::Status a = Authorize(ctx, Authorizer::Access::kAdmin, ""); !a.ok()) {
    return ToGrpcStatus(a);
  }
  if (absl::Status s = CheckId(request->id(), "id"); !s.ok()) return ToGrpcStatus(s);
  if (auto forwarded = MaybeForward(forwarder_, *ctx, request->id(),
                                    &v1::StrategyManager::Stub::StopStrategy, *request,
                                    response)) {
    return *forwarded;
  }
  auto view = manager_.StopStrategy(request->id());
  if (!view.ok()) return ToGrpcStatus(view.status());
  ToProto(*view, response->mutable_strategy());
  return grpc::Status::OK;
}

grpc::Status StrategyManagerService::SubmitSignal(grpc::ServerContext* ctx,
                                                  const v1::SubmitSignalRequest* request,
                                                  v1::SubmitSignalResponse* response) {
  // TradingView cannot send headers: a strategy with a signal secret is
  // authenticated by that secret (checked by the manager); without one, the
  // caller needs a token that may trade the strategy. Wrong secrets count
  // against the caller's address like wrong tokens (Authorizer).
  if (auth_) {
    if (absl::Status blocked = auth_->CheckNotBlocked(*ctx); !blocked.ok()) {
      return ToGrpcStatus(blocked);
    }
  }
  if (auth_ && auth_->enabled()) {
    auto view = manager_.Get(request->strategy_id());
    if (!view.ok() || !view->has_signal_secret) {
      if (absl::Status a = Authorize(ctx, Authorizer::Access::kTrade, request->strategy_id());
          !a.ok()) {
        return ToGrpcStatus(a);
      }
    }
  }
  SignalRequest signal{.strategy_id = request->strategy_id(),
                       .action = request->action(),
                       .symbol = request->symbol(),
                       .quantity = request->quantity(),
                       .price = request->price(),
                       .secret = request->secret(),
                       .client_order_id = request->client_order_id(),
                       .comment = request->comment()};
  // Cluster mode: a signal for a strategy another instance runs goes there,
  // once its secret was checked here (a wrong one counts against this
  // caller, not against the forwarding instance at the owner).
  if (auto forwarded = MaybeForward(
          forwarder_, *ctx, request->strategy_id(), &v1::StrategyManager::Stub::SubmitSignal,
          *request, response, [&]() -> std::optional<grpc::Status> {
            absl::Status secret = manager_.CheckSignalSecret(signal);
            if (secret.ok()) return std::nullopt;
            if (auth_ && secret.code() == absl::StatusCode::kPermissionDenied) {
              auth_->RecordFailure(*ctx, "signal_secret");
            }
            return ToGrpcStatus(secret);
          })) {
    return *forwarded;
  }
  auto result = manager_.SubmitSignal(signal);
  if (!result.ok()) {
    // The manager's only PERMISSION_DENIED: the signal secret does not match.
    if (auth_ && result.status().code() == absl::StatusCode::kPermissionDenied) {
      auth_->RecordFailure(*ctx, "signal_secret");
    }
    return ToGrpcStatus(result.status());
  }
  ToProto(*result, response);
  return grpc::Status::OK;
}

absl::Status StrategyManagerService::Authorize(const grpc::ServerContext* ctx,
                                               Authorizer::Access access,
                                               absl::string_view strategy_id) const {
  return auth_ ? auth_->Check(*ctx, access, strategy_id) : absl::OkStatus();
}

}  // namespace xctl::api
