#include "server/api/exchange_control_service.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/api/control_convert.h"
#include "server/api/convert.h"
#include "server/api/finished_writer.h"
#include "server/api/status.h"
#include "server/api/trading_convert.h"
#include "server/common/status_macros.h"
#include "server/common/symbol.h"

namespace xctl::api {
namespace {

grpc::Status Invalid(absl::string_view message) {
  return ToGrpcStatus(absl::InvalidArgumentError(message));
}

// An empty id is INVALID_ARGUMENT naming the field; a malformed one too.
absl::Status CheckStrategyId(absl::string_view id, absl::string_view field) {
  if (id.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": required"));
  absl::Status s = ValidateStrategyId(id);
  return s.ok() ? s : absl::InvalidArgumentError(absl::StrCat(field, ": ", s.message()));
}

absl::Status CheckSymbol(absl::string_view symbol, absl::string_view field) {
  if (symbol.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": required"));
  absl::Status s = ValidateSymbol(symbol);
  return s.ok() ? s : absl::InvalidArgumentError(absl::StrCat(field, ": ", s.message()));
}

absl::StatusOr<Page> ParsePage(int32_t page_size, const std::string& token) {
  if (page_size < 0 || page_size > 1000) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: 0 to 1000 (0 means 100), got ", page_size));
  }
  Page page{.limit = page_size == 0 ? 100 : page_size};
  if (!token.empty() && (!absl::SimpleAtoi(token, &page.before_id) || page.before_id <= 0)) {
    return absl::InvalidArgumentError("page_token: not a token this server issued");
  }
  return page;
}

absl::StatusOr<Portfolio::Query> ParseQuery(const std::string& strategy_id,
                                            const std::string& strategy_type,
                                            const std::string& symbol, int32_t page_size,
                                            const std::string& token) {
  if (!strategy_id.empty()) XCTL_RETURN_IF_ERROR(CheckStrategyId(strategy_id, "strategy_id"));
  if (!symbol.empty()) XCTL_RETURN_IF_ERROR(CheckSymbol(symbol, "symbol"));
  XCTL_ASSIGN_OR_RETURN(Page page, ParsePage(page_size, token));
  return Portfolio::Query{.strategy_id = strategy_id, .strategy_type = strategy_type,
                          .symbol = symbol, .page = page};
}

using Options = ExchangeControlService::Options;

struct PositionsTraits {
  using Response = v1::StreamPositionsResponse;
  static constexpr bool kPositions = true;
  static void Snapshot(Portfolio& portfolio, const Options& options,
                       const FeedFilter& filter, Response* out) {
    v1::PositionSnapshot* snap = out->mutable_snapshot();
    absl::flat_hash_set<int64_t> local;
    for (const PositionView& v : portfolio.OpenPositionViews(filter)) {
      local.insert(v.position.id);
      ToProto(v, snap->add_positions());
    }
    if (!options.remote_positions) return;
    for (const PositionView& v : options.remote_positions(filter)) {
      if (!local.contains(v.position.id)) ToProto(v, snap->add_positions());
    }
  }
  static bool Update(const FeedSubscription::Batch& batch, Response* out) {
    if (batch.positions.empty()) return false;
    for (const PositionView& v : batch.positions) {
      ToProto(v, out->mutable_update()->add_positions());
    }
    return true;
  }
};

struct KpisTraits {
  using Response = v1::StreamKpisResponse;
  static constexpr bool kPositions = false;
  static void Snapshot(Portfolio& portfolio, const Options& options,
                       const FeedFilter& filter, Response* out) {
    v1::KpiSnapshot* snap = out->mutable_snapshot();
    absl::flat_hash_set<std::string> local;  // strategy ids
    for (const KpiView& v : portfolio.KpiViews(filter)) {
      if (v.kind == KpiScopeKind::kStrategy) local.insert(v.name);
      ToProto(v, snap->add_kpis());
    }
    if (!options.remote_kpis) return;
    for (const KpiView& v : options.remote_kpis(filter)) {
      if (v.kind == KpiScopeKind::kStrategy && !local.contains(v.name)) {
        ToProto(v, snap->add_kpis());
      }
    }
  }
  static bool Update(const FeedSubscription::Batch& batch, Response* out) {
    if (batch.kpis.empty()) return false;
    for (const KpiView& v : batch.kpis) ToProto(v, out->mutable_update()->add_kpis());
    return true;
  }
};

// Snapshot, then one update per drained batch; everything not yet written
// waits conflated in the feed subscription.
template <typename Traits>
class FeedStream final : public QueuedWriter<typename Traits::Response> {
  using Base = QueuedWriter<typename Traits::Response>;

 public:
  FeedStream(StreamHub* hub, Portfolio& portfolio, const Options& options, FeedFilter filter)
      : Base(hub) {
    {
      absl::MutexLock lock(&this->mu_);
      // Subscribe before the snapshot so no change falls between the two.
      sub_ = portfolio.feed().Subscribe(filter, Traits::kPositions, !Traits::kPositions,
                                        [this] { this->Wake(); });
      Traits::Snapshot(portfolio, options, filter, &this->NextLocked());
    }
    this->Start();
  }

 private:
  void DrainLocked() override ABSL_EXCLUSIVE_LOCKS_REQUIRED(this->mu_) {
    typename Traits::Response update;
    if (Traits::Update(sub_->Drain(), &update)) this->NextLocked() = std::move(update);
  }
  void Release() override { sub_->Cancel(); }

  std::unique_ptr<FeedSubscription> sub_;
};

}  // namespace

ExchangeControlService::ExchangeControlService(OrderRouter& router, Portfolio& portfolio,
                                               const InstrumentCatalog& instruments,
                                               Options options)
    : router_(router),
      portfolio_(portfolio),
      instruments_(instruments),
      options_(std::move(options)),
      hub_(options_.heartbeat_interval) {}

ExchangeControlService::~ExchangeControlService() = default;

void ExchangeControlService::Shutdown() { hub_.Shutdown(); }

size_t ExchangeControlService::open_streams() const { return hub_.open_streams(); }

grpc::Status ExchangeControlService::PlaceOrder(grpc::ServerContext* ctx,
                                                const v1::PlaceOrderRequest* req,
                                                v1::PlaceOrderResponse* resp) {
  if (absl::Status a = Authorize(ctx, Authorizer::Access::kTrade, req->strategy_id()); !a.ok()) {
    return ToGrpcStatus(a);
  }
  auto parsed = [&]() -> absl::StatusOr<OrderRequest> {
    XCTL_RETURN_IF_ERROR(CheckStrategyId(req->strategy_id(), "strategy_id"));
    XCTL_RETURN_IF_ERROR(CheckSymbol(req->symbol(), "symbol"));
    OrderRequest r{.strategy_id = req->strategy_id(), .client_order_id = req->client_order_id(),
                   .symbol = req->symbol(), .reduce_only = req->reduce_only()};
    XCTL_ASSIGN_OR_RETURN(r.side, SideFromProto(req->side(), "side"));
    XCTL_ASSIGN_OR_RETURN(r.type, OrderTypeFromProto(req->type(), "type"));
    XCTL_ASSIGN_OR_RETURN(r.quantity, RequiredDecimal(req->quantity(), "quantity"));
    XCTL_ASSIGN_OR_RETURN(r.price, OptionalDecimal(req->price(), "price"));
    XCTL_ASSIGN_OR_RETURN(r.take_profit, TriggerFromProto(*req, true, "take_profit"));
    XCTL_ASSIGN_OR_RETURN(r.stop_loss, TriggerFromProto(*req, false, "stop_loss"));
    return r;  // the OrderRouter checks quantity, prices and ids (order_checks.h)
  }();
  if (!parsed.ok()) return ToGrpcStatus(parsed.status());
  if (auto forwarded = MaybeForward(options_.forwarder, *ctx, req->strategy_id(),
                                    &v1::ExchangeControl::Stub::PlaceOrder, *req, resp)) {
    return *forwarded;
  }
  auto result = router_.PlaceOrder(*parsed);
  if (!result.ok()) return ToGrpcStatus(result.status());
  ToProto(result->order, resp->mutable_order());
  for (const Fill& f : result->fills) ToProto(f, resp->add_fills());
  resp->set_replayed(result->replayed);
  return grpc::Status::OK;
}

grpc::Status ExchangeControlService::CancelOrder(grpc::ServerContext* ctx,
                                                 const v1::CancelOrderRequest* req,
                                                 v1::CancelOrderResponse* resp) {
  if (absl::Status a = Authorize(ctx, Authorizer::Access::kTrade, req->strategy_id()); !a.ok()) {
    return ToGrpcStatus(a);
  }
  if (absl::Status s = CheckStrategyId(req->strategy_id(), "strategy_id"); !s.ok()) {
    return ToGrpcStatus(s);
  }
  if (req->order_id().empty() == req->client_order_id().empty()) {
    return Invalid("set exactly one of order_id and client_order_id");
  }
  CancelRequest cancel{.client_order_id = req->client_order_id()};
  if (!req->order_id().empty() &&
      (!absl::SimpleAtoi(req->order_id(), &cancel.order_id) || cancel.order_id <= 0)) {
    return Invalid(absl::StrCat("order_id: not an order id: ", req->order_id()));
  }
  if (auto forwarded = MaybeForward(options_.forwarder, *ctx, req->strategy_id(),
                                    &v1::ExchangeControl::Stub::CancelOrder, *req, resp)) {
    return *forwarded;
  }
  auto order = router_.CancelOrder(req->strategy_id(), cancel);
  if (!order.ok()) return ToGrpcStatus(order.status());
  ToProto(*order, resp->mutable_order());
  return grpc::Status::OK;
}

grpc::Status ExchangeControlService::ClosePosition(grpc::ServerContext* ctx,
                                                   const v1::ClosePositionRequest* req,
                                                   v1::ClosePositionResponse* resp) {
  if (absl::Status a = Authorize(ctx, Authorizer::Access::kTrade, req->strategy_id()); !a.ok()) {
    return ToGrpcStatus(a);
  }
  auto parsed = [&]() -> absl::StatusOr<CloseRequest> {
    XCTL_RETURN_IF_ERROR(CheckStrategyId(req->strategy_id(), "strategy_id"));
    XCTL_RETURN_IF_ERROR(CheckSymbol(req->symbol(), "symbol"));
    CloseRequest r{.symbol = req->symbol(), .client_order_id = req->client_order_id()};
    XCTL_ASSIGN_OR_RETURN(r.quantity, OptionalDecimal(req->quantity(), "quantity"));
    return r;
  }();
  if (!parsed.ok()) return ToGrpcStatus(parsed.status());
  if (auto forwarded = MaybeForward(options_.forwarder, *ctx, req->strategy_id(),
                                    &v1::ExchangeControl::Stub::ClosePosition, *req, resp)) {
    return *forwarded;
  }
  auto result = router_.ClosePosition(req->strategy_id(), *parsed);
  if (!result.ok()) return ToGrpcStatus(result.status());
  ToProto(result->order, resp->mutable_order());
  for (const Fill& f : result->fills) ToProto(f, resp->add_fills());
  for (const Position& p : result->closed_positions) ToProto(p, resp->add_closed_positions());
  return grpc::Status::OK;
}

grpc::Status ExchangeControlService::ListPositions(grpc::ServerContext* ctx,
                                                   const v1::ListPositionsRequest* req,
                                                   v1::ListPositionsResponse* resp) {
  if (absl::Status a = Authorize(ctx, Authorizer::Access::kRead, req->strategy_id()); !a.ok()) {
    return ToGrpcStatus(a);
  }
  auto query = ParseQuery(req->strategy_id(), req->strategy_type(), req->symbol(),
                          req->page_size(), req->page_token());
  if (!query.ok()) return ToGrpcStatus(query.status());
  auto status = PositionStatusFilter(req->status(), "status");
  if (!status.ok()) return ToGrpcStatus(status.status());
  query->position_status = *status;
  auto rows = portfolio_.ListPositions(*query);
  if (!rows.ok()) return ToGrpcStatus(rows.status());
  for (const PositionView& v : *rows) ToProto(v, resp->add_positions());
  if (static_cast<int>(rows->size()) == query->page.limit) {
    resp->set_next_page_token(absl::StrCat(rows->back().position.id));
  }
  return grpc::Status::OK;
}

grpc::Status ExchangeControlService::ListOrders(grpc::ServerContext* ctx,
                                                const v1::ListOrdersRequest* req,
                                                v1::ListOrdersResponse* resp) {
  if (absl::Status a = Authorize(ctx, Authorizer::Access::kRead, req->strategy_id()); !a.ok()) {
    return ToGrpcStatus(a);
  }
  auto query = ParseQuery(req->strategy_id(), req->strategy_type(), req->symbol(),
                          req->page_size(), req->page_token());
  if (!query.ok()) return ToGrpcStatus(query.status());
  auto status = OrderStatusFilter(req->status(), "status");
  if (!status.ok()) return ToGrpcStatus(status.status());
  query->order_status = *status;
  auto rows = portfolio_.ListOrders(*query);
  if (!rows.ok()) return ToGrpcStatus(rows.status());
  for (const Order& o : *rows) ToProto(o, resp->add_orders());
  if (static_cast<int>(rows->size()) == query->page.limit) {
    resp->set_next_page_token(absl::StrCat(rows->back().id));
  }
  return grpc::Status::OK;
}

grpc::Status ExchangeControlService::GetBalance(grpc::ServerContext* ctx,
                                                const v1::GetBalanceRequest* req,
                                                v1::GetBalanceResponse* resp) {
  if (absl::Status a = Authorize(ctx, Authorizer::Access::kRead, req->strategy_id()); !a.ok()) {
    return ToGrpcStatus(a);
  }
  if (absl::Status s = CheckStrategyId(req->strategy_id(), "strategy_id"); !s.ok()) {
    return ToGrpcStatus(s);
  }
  if (auto forwarded = MaybeForward(options_.forwarder, *ctx, req->strategy_id(),
                                    &v1::ExchangeControl::Stub::GetBalance, *req, resp)) {
    return *forwarded;
  }
  auto view = router_.GetBalance(req->strategy_id());
  if (!view.ok()) return ToGrpcStatus(view.status());
  v1::Balance* b = resp->mutable_balance();
  b->set_strategy_id(req->strategy_id());
  b->set_mode(ToProto(view->mode));
  b->set_currency("USDT");
  ToProto(view->account.balance, b->mutable_balance());
  ToProto(view->equity, b->mutable_equity());
  ToProto(view->account.margin_used, b->mutable_margin_used());
  ToProto(view->available, b->mutable_available());
  ToProto(view->account.starting_balance, b->mutable_starting_balance());
  ToProto(view->account.leverage, b->mutable_leverage());
  return grpc::Status::OK;
}

grpc::Status ExchangeControlService::ListInstruments(grpc::ServerContext* ctx,
                                                     const v1::ListInstrumentsRequest* req,
                                                     v1::ListInstrumentsResponse* resp) {
  if (absl::Status a = Authorize(ctx, Authorizer::Access::kRead, Authorizer::kMarketData); !a.ok()) {
    return ToGrpcStatus(a);
  }
  std::vector<std::string> symbols(req->symbols().begin(), req->symbols().end());
  if (symbols.empty()) symbols = options_.configured_pairs;
  for (const std::string& symbol : symbols) {
    if (absl::Status s = CheckSymbol(symbol, "symbols"); !s.ok()) return ToGrpcStatus(s);
    auto spec = instruments_.Get(symbol);
    if (!spec.ok()) return ToGrpcStatus(spec.status());
    ToProto(*spec, resp->add_instruments());
  }
  return grpc::Status::OK;
}

grpc::Status ExchangeControlService::GetKpis(grpc::ServerContext* ctx,
                                             const v1::GetKpisRequest* req,
                                             v1::GetKpisResponse* resp) {
  if (absl::Status a = Authorize(ctx, Authorizer::Access::kRead, req->strategy_id()); !a.ok()) {
    return ToGrpcStatus(a);
  }
  if (!req->strategy_id().empty()) {
    if (absl::Status s = CheckStrategyId(req->strategy_id(), "strategy_id"); !s.ok()) {
      return ToGrpcStatus(s);
    }
  }
  if (absl::Status s = CheckKpiScope(req->strategy_id(), req->strategy_type()); !s.ok()) {
    return ToGrpcStatus(s);
  }
  auto report = [&]() -> absl::StatusOr<Portfolio::KpiReport> {
    // Cluster mode: the aggregates are cluster-wide (every owner's published
    // KPIs); a strategy's own KPIs come from its owner when it runs here,
    // else from what its owner published, else UNAVAILABLE naming it.
    if (options_.cluster_kpis && req->strategy_id().empty()) {
      return options_.cluster_kpis("", req->strategy_type());
    }
    if (absl::Status owner = router_.CheckOwner(req->strategy_id()); !owner.ok()) {
      if (options_.cluster_kpis) {
        auto published = options_.cluster_kpis(req->strategy_id(), "");
        if (published.ok()) return published;
      }
      return owner;
    }
    return portfolio_.GetKpis(req->strategy_id(), req->strategy_type());
  }();
  if (!report.ok()) return ToGrpcStatus(report.status());
  ToProto(report->total, resp->mutable_total());
  for (const KpiView& v : report->strategies) ToProto(v, resp->add_strategies());
  for (const KpiView& v : report->types) ToProto(v, resp->add_types());
  return grpc::Status::OK;
}

grpc::Status ExchangeControlService::ReconcileStrategy(grpc::ServerContext* ctx,
                                                       const v1::ReconcileStrategyRequest* req,
                                                       v1::ReconcileStrategyResponse* resp) {
  if (absl::Status a = Authorize(ctx, Authorizer::Access::kTrade, req->strategy_id()); !a.ok()) {
    return ToGrpcStatus(a);
  }
  if (absl::Status s = CheckStrategyId(req->strategy_id(), "strategy_id"); !s.ok()) {
    return ToGrpcStatus(s);
  }
  if (auto forwarded = MaybeForward(options_.forwarder, *ctx, req->strategy_id(),
                                    &v1::ExchangeControl::Stub::ReconcileStrategy, *req, resp)) {
    return *forwarded;
  }
  auto report = router_.Reconcile(req->strategy_id());
  if (!report.ok()) return ToGrpcStatus(report.status());
  resp->set_orders_adopted(report->orders_adopted);
  resp->set_orders_closed(report->orders_closed);
  resp->set_positions_adopted(report->positions_adopted);
  resp->set_positions_closed(report->positions_closed);
  for (const std::string& c : report->changes) resp->add_changes(c);
  return grpc::Status::OK;
}

grpc::ServerWriteReactor<v1::StreamPositionsResponse>* ExchangeControlService::StreamPositions(
    grpc::CallbackServerContext* ctx, const v1::StreamPositionsRequest* req) {
  if (absl::Status a = Authorize(ctx, Authorizer::Access::kRead, req->strategy_id()); !a.ok()) {
    return new FinishedWriter<v1::StreamPositionsResponse>(ToGrpcStatus(a));
  }
  if (!req->strategy_id().empty()) {
    if (absl::Status s = CheckStrategyId(req->strategy_id(), "strategy_id"); !s.ok()) {
      return new FinishedWriter<v1::StreamPositionsResponse>(ToGrpcStatus(s));
    }
  }
  if (hub_.shutting_down()) {
    return new FinishedWriter<v1::StreamPositionsResponse>(
        ToGrpcStatus(absl::UnavailableError("server shutting down")));
  }
  return new FeedStream<PositionsTraits>(
      &hub_, portfolio_, options_,
      FeedFilter{.strategy_id = req->strategy_id(), .strategy_type = req->strategy_type(),
                 .include_closed = req->include_closed()});
}

grpc::ServerWriteReactor<v1::StreamKpisResponse>* ExchangeControlService::StreamKpis(
    grpc::CallbackServerContext* ctx, const v1::StreamKpisRequest* req) {
  if (absl::Status a = Authorize(ctx, Authorizer::Access::kRead, req->strategy_id()); !a.ok()) {
    return new FinishedWriter<v1::StreamKpisResponse>(ToGrpcStatus(a));
  }
  if (absl::Status s = CheckKpiScope(req->strategy_id(), req->strategy_type()); !s.ok()) {
    return new FinishedWriter<v1::StreamKpisResponse>(ToGrpcStatus(s));
  }
  if (!req->strategy_id().empty()) {
    if (absl::Status s = CheckStrategyId(req->strategy_id(), "strategy_id"); !s.ok()) {
      return new FinishedWriter<v1::StreamKpisResponse>(ToGrpcStatus(s));
    }
  }
  if (hub_.shutting_down()) {
    return new FinishedWriter<v1::StreamKpisResponse>(
        ToGrpcStatus(absl::UnavailableError("server shutting down")));
  }
  return new FeedStream<KpisTraits>(
      &hub_, portfolio_, options_,
      FeedFilter{.strategy_id = req->strategy_id(), .strategy_type = req->strategy_type()});
}

absl::Status ExchangeControlService::Authorize(const grpc::ServerContextBase* ctx,
                                               Authorizer::Access access,
                                               absl::string_view strategy_id) const {
  return options_.auth ? options_.auth->Check(*ctx, access, strategy_id) : absl::OkStatus();
}

}  // namespace xctl::api
