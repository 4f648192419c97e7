// BlofinExchange: opening (the configuration and the API key's claim), the
// account setup (position mode, margin mode, leverage) and the trading calls:
// PlaceOrder with its retry and its resolution of unknown outcomes,
// CancelOrder, ClosePosition. Reading an order back and recording it
// (FetchOrder, Sync) is in blofin_order_sync.cc; the account reads and the
// reconciliation with BloFin in blofin_reconcile.cc.
#include "server/exchange/blofin/blofin_exchange.h"

#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "server/common/error_reason.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/exchange/blofin/json.h"
#include "server/exchange/exchange_store.h"

namespace xctl {
namespace {

// index.md, "Place Order", "Cancel Order", "Set Leverage", "GET Position
// Mode", "GET Margin Mode", "Set Margin Mode".
constexpr absl::string_view kOrderPath = "/api/v1/trade/order";
constexpr absl::string_view kCancelPath = "/api/v1/trade/cancel-order";
constexpr absl::string_view kLeveragePath = "/api/v1/account/set-leverage";
constexpr absl::string_view kPositionModePath = "/api/v1/account/position-mode";
constexpr absl::string_view kMarginModePath = "/api/v1/account/margin-mode";
constexpr absl::string_view kSetMarginModePath = "/api/v1/account/set-margin-mode";

// BloFin's clientOrderId (index.md "Place Order"): "a combination of
// case-sensitive alphanumerics ... of up to 32 characters". errors.md 152009
// also names underscores; the stricter reading is kept.
absl::Status CheckClientOrderId(absl::string_view id) {
  if (id.size() > 32) {
    return absl::InvalidArgumentError(absl::StrCat(
        "BloFin client order ids have at most 32 characters, got ", id.size()));
  }
  for (char c : id) {
    if (!absl::ascii_isalnum(c)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "BloFin client order ids hold only letters and digits, got ", LogQuote(id)));
    }
  }
  return absl::OkStatus();
}

// A JSON object of string members, in the order given (the exact bytes that
// are signed and sent).
std::string JsonObject(const std::vector<std::pair<const char*, std::string>>& members) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  for (const auto& [key, value] : members) {
    writer.Key(key);
    writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  }
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

const rapidjson::Value& Data(const rapidjson::Document& doc) { return doc["data"]; }

Side Opposite(PositionSide side) { return side == PositionSide::kLong ? Side::kSell : Side::kBuy; }

}  // namespace

BlofinExchange::BlofinExchange(BlofinExchangeConfig config, const Deps& deps,
                               blofin::AccountClaim claim)
    : config_(std::move(config)),
      deps_(deps),
      claim_(std::move(claim)),
      rest_(config_.rest, config_.credentials, deps.clock) {}

absl::StatusOr<std::unique_ptr<BlofinExchange>> BlofinExchange::Open(BlofinExchangeConfig config,
                                                                     const Deps& deps) {
  if (!deps.store || !deps.instruments || !deps.clock) {
    return absl::InvalidArgumentError("BlofinExchange needs a store, instruments and a clock");
  }
  if (config.credentials.api_key.value().empty() ||
      config.credentials.api_secret.value().empty() ||
      config.credentials.passphrase.value().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "strategy ", config.strategy_id, ": BloFin needs an API key, a secret and a passphrase"));
  }
  if (config.margin_mode != "cross" && config.margin_mode != "isolated") {
    return absl::InvalidArgumentError(absl::StrCat(
        "margin mode must be cross or isolated, got ", LogQuote(config.margin_mode)));
  }
  if (!config.leverage.IsMultipleOf(Decimal::FromInt(1)) || config.leverage < Decimal::FromInt(1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "BloFin leverage must be a whole number of at least 1, got ", config.leverage.ToString()));
  }
  XCTL_RETURN_IF_ERROR(deps.store->Read([&](Tx& tx) -> absl::Status {
    return tx.strategies().Get(config.strategy_id).status();
  }));
  XCTL_ASSIGN_OR_RETURN(blofin::AccountClaim claim,
                        blofin::AccountClaim::Make(config.credentials.api_key.value(),
                                                   config.strategy_id));
  std::unique_ptr<BlofinExchange> exchange(
      new BlofinExchange(std::move(config), deps, std::move(claim)));
  blofin::PrivateWsOptions ws = exchange->config_.private_ws;
  if (ws.url.empty()) ws.url = exchange->config_.rest.ws_private_url;
  if (!ws.url.empty()) {
    exchange->ws_ = std::make_unique<blofin::BlofinPrivateWs>(
        std::move(ws), exchange->config_.credentials,
        static_cast<blofin::BlofinPrivateWs::Listener*>(exchange.get()), *deps.clock);
    exchange->ws_->Start();
  }
  return exchange;
}

BlofinExchange::~BlofinExchange() {
  if (ws_) ws_->Stop();
}

absl::StatusOr<Instrument> BlofinExchange::GetInstrument(absl::string_view symbol) {
  return deps_.instruments->Get(symbol);
}

absl::Status BlofinExchange::EnsureAccount() {
  if (account_checked_) return absl::OkStatus();
  XCTL_ASSIGN_OR_RETURN(rapidjson::Document mode_doc, rest_.Get(kPositionModePath));
  XCTL_ASSIGN_OR_RETURN(std::string position_mode, blofin::ParsePositionMode(Data(mode_doc)));
  if (position_mode != "net_mode") {
    return absl::FailedPreconditionError(absl::StrCat(
        "strategy ", config_.strategy_id, ": the BloFin account is in long/short (hedge) "
        "position mode; xctl trades one-way (net) mode. Switch the account to one-way mode on "
        "BloFin (futures settings, position mode) or with POST ", "/api/v1/account/",
        "set-position-mode {\"positionMode\":\"net_mode\"} while it has no open orders or "
        "positions, then start the strategy again"));
  }
  XCTL_ASSIGN_OR_RETURN(rapidjson::Document margin_doc, rest_.Get(kMarginModePath));
  XCTL_ASSIGN_OR_RETURN(std::string margin_mode, blofin::ParseMarginMode(Data(margin_doc)));
  if (margin_mode != config_.margin_mode) {
    absl::Status set = rest_.Post(kSetMarginModePath,
                                  JsonObject({{"marginMode", config_.margin_mode}}), false)
                           .status();
    if (!set.ok()) {
      return absl::Status(set.code(), absl::StrCat("strategy ", config_.strategy_id,
                                                   " trades in ", config_.margin_mode,
                                                   " margin mode but the BloFin account is in ",
                                                   margin_mode, " and could not be switched: ",
                                                   set.message()));
    }
    spdlog::info("event=blofin_margin_mode_set strategy={} from={} to={}", config_.strategy_id,
                 margin_mode, config_.margin_mode);
  }
  account_checked_ = true;
  return absl::OkStatus();
}

absl::Status BlofinExchange::EnsureLeverage(absl::string_view symbol) {
  if (leverage_set_.contains(symbol)) return absl::OkStatus();
  const std::string body = JsonObject({{"instId", std::string(symbol)},
                                       {"leverage", config_.leverage.ToString()},
                                       {"marginMode", config_.margin_mode}});
  XCTL_RETURN_IF_ERROR(rest_.Post(kLeveragePath, body, false).status());
  leverage_set_[symbol] = true;
  return absl::OkStatus();
}

absl::StatusOr<OrderResult> BlofinExchange::PlaceOrder(const OrderRequest& request) {
  absl::MutexLock lock(&mu_);
  return PlaceLocked(request);
}

absl::StatusOr<OrderResult> BlofinExchange::PlaceLocked(const OrderRequest& request) {
  XCTL_ASSIGN_OR_RETURN(Instrument instrument,
                        CheckOrderFor(request, config_.strategy_id, "BloFin", *deps_.instruments));
  OrderRequest req = request;
  if (req.client_order_id.empty()) req.client_order_id = NewClientOrderId();
  XCTL_RETURN_IF_ERROR(CheckClientOrderId(req.client_order_id));
  std::optional<Order> stored;
  XCTL_RETURN_IF_ERROR(deps_.store->Read([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(stored,
                          tx.orders().GetByClientOrderId(config_.strategy_id, req.client_order_id));
    return absl::OkStatus();
  }));
  if (stored) return Retry(*stored, req, instrument);
  XCTL_RETURN_IF_ERROR(EnsureAccount());
  if (!req.reduce_only) XCTL_RETURN_IF_ERROR(EnsureLeverage(req.symbol));
  return Send(req, instrument, nullptr);
}

absl::StatusOr<OrderResult> BlofinExchange::Retry(const Order& stored, const OrderRequest& req,
                                                  const Instrument& instrument) {
  if (!MatchesRequest(stored, req)) {
    return ClientOrderIdReused(req.client_order_id, DescribeOrder(stored));
  }
  const bool unresolved = stored.exchange_order_id.empty() && !IsTerminal(stored.status);
  if (unresolved) {
    // The first attempt got no answer: BloFin may have the order. Look it up
    // before anything is sent again.
    XCTL_ASSIGN_OR_RETURN(std::optional<Order> remote, FetchOrder(KeyOf(stored)));
    if (remote) {
      XCTL_ASSIGN_OR_RETURN(OrderResult synced, Sync(*remote, instrument));
      synced.replayed = true;
      spdlog::info("event=blofin_order_resolved strategy={} client_order_id={} on=retry",
                   config_.strategy_id, req.client_order_id);
      return synced;
    }
    XCTL_RETURN_IF_ERROR(EnsureAccount());
    if (!req.reduce_only) XCTL_RETURN_IF_ERROR(EnsureLeverage(req.symbol));
    return Send(req, instrument, &stored);  // BloFin does not know it: it was never placed
  }
  std::optional<OrderResult> replayed;
  XCTL_RETURN_IF_ERROR(deps_.store->Read([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(replayed, ReplayedResult(tx, stored));
    return absl::OkStatus();
  }));
  return *std::move(replayed);
}

absl::StatusOr<OrderResult> BlofinExchange::Send(const OrderRequest& req,
                                                 const Instrument& instrument,
                                                 const Order* stored) {
  const bool created = stored == nullptr;
  Order unresolved;
  if (stored != nullptr) {
    unresolved = *stored;
  } else {
    XCTL_ASSIGN_OR_RETURN(unresolved, StoreUnresolved(req));
  }
  std::vector<std::pair<const char*, std::string>> members = {
      {"instId", req.symbol},
      {"marginMode", config_.margin_mode},
      {"positionSide", "net"},
      {"side", std::string(ToString(req.side))},
      {"orderType", std::string(ToString(req.type))},
      {"size", req.quantity.ToString()},
      {"reduceOnly", req.reduce_only ? "true" : "false"},
      {"clientOrderId", req.client_order_id}};
  if (req.price) members.insert(members.begin() + 5, {"price", req.price->ToString()});
  // index.md "Place Order": tpTriggerPrice with tpOrderPrice (and sl...),
  // always as a pair; order price -1 = at the market price.
  for (const auto& [leg, trigger, price] :
       {std::tuple{&req.take_profit, "tpTriggerPrice", "tpOrderPrice"},
        std::tuple{&req.stop_loss, "slTriggerPrice", "slOrderPrice"}}) {
    if (!*leg) continue;
    members.push_back({trigger, (*leg)->trigger_price.ToString()});
    members.push_back({price, (*leg)->order_price ? (*leg)->order_price->ToString() : "-1"});
  }
  auto placed = PostTrade(kOrderPath, JsonObject(members));

  absl::Status error = placed.status();
  std::string order_id;
  if (placed.ok()) {
    std::vector<const rapidjson::Value*> items = blofin::Items(Data(*placed));
    if (items.empty()) {
      error = absl::UnavailableError("BloFin POST /api/v1/trade/order answered without a result");
    } else {
      error = blofin::ItemStatus(*items[0]);
      const rapidjson::Value& item = *items[0];
      if (error.ok()) {
        if (item.HasMember("orderId") && item["orderId"].IsString()) {
          order_id = item["orderId"].GetString();
        }
        const std::string echoed = item.HasMember("clientOrderId") &&
                                           item["clientOrderId"].IsString()
                                       ? item["clientOrderId"].GetString()
                                       : "";
        if (order_id.empty() || (!echoed.empty() && echoed != req.client_order_id)) {
          error = absl::UnavailableError(absl::StrCat(
              "BloFin accepted order ", req.client_order_id, " but answered order ",
              LogQuote(order_id), " with client order id ", LogQuote(echoed)));
        }
      }
    }
  }
  if (!error.ok()) {
    const bool duplicate = error.code() == absl::StatusCode::kAlreadyExists;
    if (!duplicate && !blofin::IsUncertain(error)) {  // refused: nothing placed
      if (created) {
        absl::Status dropped = deps_.store->Transact(
            [&](Tx& tx) { return tx.orders().DeleteUnplaced(unresolved.id); }, fence());
        if (!dropped.ok()) {
          // Left unresolved: a retry looks it up first, Reconcile closes it.
          spdlog::warn("event=blofin_unplaced_row_kept strategy={} client_order_id={} error={}",
                       config_.strategy_id, req.client_order_id, LogQuote(dropped.message()));
        }
      }
      return error;
    }
    return ResolveUncertain(req, instrument, error);
  }
  auto remote = FetchOrder({req.symbol, order_id, req.client_order_id});
  if (remote.ok() && *remote) {
    auto synced = Sync(**remote, instrument);
    if (synced.ok()) return synced;
    // Placed, but its fills could not be read or recorded (a refused read, a
    // failed write): the row keeps BloFin's order id below and OnTick syncs
    // it. Never an error here: the order is at BloFin.
    spdlog::warn("event=blofin_order_sync_deferred strategy={} client_order_id={} error={}",
                 config_.strategy_id, req.client_order_id, LogQuote(synced.status().message()));
  }
  // Accepted but not readable yet: the row gets BloFin's order id; OnTick
  // syncs it. Should this write fail too, the row stays unresolved and a
  // retry looks the order up (it is not sent twice).
  Order o = unresolved;
  o.exchange_order_id = order_id;
  o.update_time_ms = deps_.clock->NowMillis();
  XCTL_RETURN_IF_ERROR(deps_.store->Transact([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(std::optional<Order> row, tx.orders().GetByClientOrderId(
                                                        config_.strategy_id, o.client_order_id));
    if (!row) return tx.orders().Insert(&o);
    if (!row->exchange_order_id.empty()) {  // recorded meanwhile (a sync that got through)
      o = *row;
      return absl::OkStatus();
    }
    o.id = row->id;
    o.create_time_ms = row->create_time_ms;
    return tx.orders().Update(o);
  }, fence()));
  return OrderResult{.order = o};
}

absl::StatusOr<Order> BlofinExchange::StoreUnresolved(const OrderRequest& req) {
  const int64_t now = deps_.clock->NowMillis();
  Order o{.strategy_id = config_.strategy_id, .client_order_id = req.client_order_id,
          .symbol = req.symbol, .side = req.side, .type = req.type, .price = req.price,
          .quantity = req.quantity, .status = OrderStatus::kOpen,
          .reduce_only = req.reduce_only, .take_profit = req.take_profit,
          .stop_loss = req.stop_loss, .mode = TradingMode::kLive,
          .create_time_ms = now, .update_time_ms = now};
  // PlaceLocked found no row under mu_; should one exist all the same, the
  // unique (strategy, client order id) index refuses this and nothing is sent.
  XCTL_RETURN_IF_ERROR(deps_.store->Transact([&](Tx& tx) { return tx.orders().Insert(&o); },
                                             fence()));
  return o;
}

absl::StatusOr<OrderResult> BlofinExchange::ResolveUncertain(const OrderRequest& req,
                                                             const Instrument& instrument,
                                                             const absl::Status& error) {
  auto found = FetchOrder({req.symbol, "", req.client_order_id});
  if (found.ok() && *found) {
    spdlog::info("event=blofin_order_resolved strategy={} client_order_id={} after={}",
                 config_.strategy_id, req.client_order_id, LogQuote(error.message()));
    return Sync(**found, instrument);
  }
  // Unknown outcome: Send's write-ahead row stays unresolved, so nothing
  // sends the order again before it has been looked up.
  return absl::UnavailableError(absl::StrCat(
      error.message(), "; BloFin does not list order ", req.client_order_id,
      found.ok() ? " (yet)" : absl::StrCat(" (lookup failed: ", found.status().message(), ")"),
      ". Its outcome is unknown: retry with the same client order id, and xctl looks it up "
      "again before it sends it (it is never sent twice)"));
}

absl::StatusOr<std::optional<Order>> BlofinExchange::StoredOrder(const CancelRequest& request) {
  std::optional<Order> stored;
  XCTL_RETURN_IF_ERROR(deps_.store->Read([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(stored, FindOrder(tx, config_.strategy_id, request));
    return absl::OkStatus();
  }));
  return stored;
}

absl::StatusOr<Order> BlofinExchange::CloseLocally(Order order, absl::string_view reason) {
  order.status = OrderStatus::kCanceled;
  order.reject_reason = std::string(reason);
  order.update_time_ms = deps_.clock->NowMillis();
  XCTL_RETURN_IF_ERROR(
      deps_.store->Transact([&](Tx& tx) { return tx.orders().Update(order); }, fence()));
  return order;
}

absl::StatusOr<Order> BlofinExchange::CancelOrder(const CancelRequest& request) {
  XCTL_RETURN_IF_ERROR(CheckCancelRequest(request));
  absl::MutexLock lock(&mu_);
  XCTL_ASSIGN_OR_RETURN(std::optional<Order> stored, StoredOrder(request));
  const std::string which = OrderName(request);
  if (!stored) {
    return absl::NotFoundError(absl::StrCat(which, " not found for strategy ", config_.strategy_id));
  }
  if (IsTerminal(stored->status)) {
    return absl::FailedPreconditionError(
        absl::StrCat(which, " cannot be cancelled: it is already ", ToString(stored->status)));
  }
  const Instrument instrument = InstrumentOrGeneric(stored->symbol);
  if (stored->exchange_order_id.empty()) {
    // Sent without an answer: find out whether BloFin has it at all.
    XCTL_ASSIGN_OR_RETURN(std::optional<Order> remote, FetchOrder(KeyOf(*stored)));
    if (!remote) return CloseLocally(*stored, "cancelled before BloFin ever listed it");
    XCTL_ASSIGN_OR_RETURN(OrderResult synced, Sync(*remote, instrument));
    stored = synced.order;
    if (IsTerminal(stored->status)) {
      return absl::FailedPreconditionError(
          absl::StrCat(which, " cannot be cancelled: it is already ", ToString(stored->status)));
    }
  }
  // index.md "Cancel Order": orderId is the required field; instId narrows it.
  const std::string body =
      JsonObject({{"instId", stored->symbol}, {"orderId", stored->exchange_order_id}});
  auto cancelled = PostTrade(kCancelPath, body);
  absl::Status outcome = cancelled.status();
  if (cancelled.ok()) {
    std::vector<const rapidjson::Value*> items = blofin::Items(Data(*cancelled));
    if (!items.empty()) outcome = blofin::ItemStatus(*items[0]);
  }
  // errors.md 102068: "Cancel failed as the order has been filled,
  // triggered, canceled or does not exist": its final state says which.
  const bool gone = blofin::BlofinCode(outcome) == "102068";
  if (!outcome.ok() && !gone && !blofin::IsUncertain(outcome)) return outcome;
  // Read BloFin's state (the order may have filled before the cancel).
  XCTL_ASSIGN_OR_RETURN(std::optional<Order> remote, FetchOrder(KeyOf(*stored)));
  if (!remote) {
    if (!outcome.ok() && !gone) return outcome;
    return CloseLocally(*stored, "BloFin no longer lists it");
  }
  XCTL_ASSIGN_OR_RETURN(OrderResult synced, Sync(*remote, instrument));
  if (!outcome.ok() && !gone && !IsTerminal(synced.order.status)) return outcome;
  if (synced.order.status != OrderStatus::kCanceled && IsTerminal(synced.order.status)) {
    return absl::FailedPreconditionError(absl::StrCat(
        which, " cannot be cancelled: it is already ", ToString(synced.order.status),
        " (its fills are recorded)"));
  }
  return synced.order;
}

absl::StatusOr<OrderResult> BlofinExchange::ClosePosition(const CloseRequest& request) {
  absl::MutexLock lock(&mu_);
  OrderRequest order{.strategy_id = config_.strategy_id,
                     .client_order_id = request.client_order_id,
                     .symbol = request.symbol,
                     .type = OrderType::kMarket,
                     .reduce_only = true};
  if (!request.client_order_id.empty()) {
    XCTL_ASSIGN_OR_RETURN(std::optional<Order> seen,
                          StoredOrder({.client_order_id = request.client_order_id}));
    if (seen) {
      order.side = seen->side;
      order.quantity = request.quantity.value_or(seen->quantity);
      return PlaceLocked(order);
    }
  }
  XCTL_ASSIGN_OR_RETURN(std::vector<Position> positions, RemotePositions(request.symbol));
  if (positions.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("no open ", config_.margin_mode,
                                                      " position in ", request.symbol,
                                                      " on BloFin to close"));
  }
  const Position& open = positions.front();
  const Decimal quantity = request.quantity.value_or(open.quantity);
  if (quantity > open.quantity) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot close ", quantity.ToString(), " contracts: the open ", ToString(open.side),
        " position in ", request.symbol, " is ", open.quantity.ToString()));
  }
  order.side = Opposite(open.side);
  order.quantity = quantity;
  return PlaceLocked(order);
}

Instrument BlofinExchange::InstrumentOrGeneric(absl::string_view symbol) const {
  auto spec = deps_.instruments->Get(symbol);
  return spec.ok() ? *spec : GenericInstrument(symbol);
}

}  // namespace xctl
