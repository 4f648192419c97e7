#include "server/exchange/blofin/blofin_exchange.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/exchange/blofin/json.h"
#include "server/exchange/exchange_store.h"

namespace xctl {
namespace {

constexpr absl::string_view kOrderPath = "/api/v1/trade/order";
constexpr absl::string_view kCancelPath = "/api/v1/trade/cancel-order";

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

BlofinExchange::BlofinExchange(BlofinExchangeConfig config, const Deps& deps)
    : config_(std::move(config)),
      deps_(deps),
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
  return std::unique_ptr<BlofinExchange>(new BlofinExchange(std::move(config), deps));
}

absl::StatusOr<Instrument> BlofinExchange::GetInstrument(absl::string_view symbol) {
  return deps_.instruments->Get(symbol);
}

absl::Status BlofinExchange::EnsureLeverage(absl::string_view symbol) {
  if (leverage_set_.contains(symbol)) return absl::OkStatus();
  const std::string body = JsonObject({{"instId", std::string(symbol)},
                                       {"leverage", config_.leverage.ToString()},
                                       {"marginMode", config_.margin_mode}});
  XCTL_RETURN_IF_ERROR(rest_.Post("/api/v1/account/set-leverage", body, false).status());
  leverage_set_[symbol] = true;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<Order>> BlofinExchange::FetchOrder(absl::string_view key,
                                                                absl::string_view value) {
  for (absl::string_view path : {"/api/v1/trade/orders-pending", "/api/v1/trade/orders-history"}) {
    XCTL_ASSIGN_OR_RETURN(rapidjson::Document doc,
                          rest_.Get(path, {{std::string(key), std::string(value)}}));
    const rapidjson::Value& data = Data(doc);
    if (data.IsArray() && !data.Empty()) {
      XCTL_ASSIGN_OR_RETURN(Order order, blofin::ParseOrder(data[0]));
      order.strategy_id = config_.strategy_id;
      return order;
    }
  }
  return std::nullopt;
}

absl::StatusOr<OrderResult> BlofinExchange::Sync(const Order& remote,
                                                 const Instrument& instrument) {
  std::vector<blofin::RemoteFill> remote_fills;
  {
    XCTL_ASSIGN_OR_RETURN(rapidjson::Document doc,
                          rest_.Get("/api/v1/trade/fills-history",
                                    {{"instId", remote.symbol},
                                     {"orderId", remote.exchange_order_id}}));
    if (Data(doc).IsArray()) {
      for (const auto& v : Data(doc).GetArray()) {
        XCTL_ASSIGN_OR_RETURN(blofin::RemoteFill f, blofin::ParseFill(v));
        if (f.exchange_order_id == remote.exchange_order_id) remote_fills.push_back(f);
      }
    }
    std::sort(remote_fills.begin(), remote_fills.end(), [](const auto& a, const auto& b) {
      return a.fill.time_ms != b.fill.time_ms ? a.fill.time_ms < b.fill.time_ms
                                              : a.fill.exchange_fill_id < b.fill.exchange_fill_id;
    });
  }
  const int64_t now = deps_.clock->NowMillis();
  OrderResult result;
  XCTL_RETURN_IF_ERROR(deps_.store->Transact([&](Tx& tx) -> absl::Status {
    result = OrderResult{};
    XCTL_ASSIGN_OR_RETURN(std::optional<Order> local,
                          tx.orders().GetByClientOrderId(config_.strategy_id,
                                                         remote.client_order_id));
    Order o;
    absl::flat_hash_set<std::string> recorded;
    if (local) {
      o = *local;
      XCTL_ASSIGN_OR_RETURN(std::vector<Fill> fills, tx.fills().ListByOrder(o.id));
      for (const Fill& f : fills) recorded.insert(f.exchange_fill_id);
    } else {
      o = remote;
      o.id = 0;
      o.strategy_id = config_.strategy_id;
      o.filled_quantity = Decimal();
      o.average_price = Decimal();
      o.fee = Decimal();
      if (o.create_time_ms == 0) o.create_time_ms = now;
    }
    o.exchange_order_id = remote.exchange_order_id;
    for (const blofin::RemoteFill& rf : remote_fills) {
      if (recorded.contains(rf.fill.exchange_fill_id)) continue;
      Fill fill = rf.fill;
      if (fill.time_ms == 0) fill.time_ms = now;
      XCTL_ASSIGN_OR_RETURN(RecordedFill r, RecordFill(tx, o, fill, instrument, "blofin"));
      for (Position& closed : r.closed) result.closed_positions.push_back(std::move(closed));
      result.open_positions.clear();
      if (r.open) result.open_positions.push_back(*r.open);
      result.fills.push_back(fill);
    }
    // BloFin's state, unless its fills are not all visible yet: then the order
    // stays resting here and the next sync records the rest.
    o.status = remote.status;
    if (o.filled_quantity < remote.filled_quantity) {
      o.status = o.filled_quantity.is_zero() ? OrderStatus::kOpen : OrderStatus::kPartiallyFilled;
    }
    o.update_time_ms = std::max(o.update_time_ms, remote.update_time_ms);
    if (o.update_time_ms == 0) o.update_time_ms = now;
    if (o.id == 0) {
      XCTL_RETURN_IF_ERROR(tx.orders().Insert(&o));
    } else {
      XCTL_RETURN_IF_ERROR(tx.orders().Update(o));
    }
    result.order = o;
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<OrderResult> BlofinExchange::PlaceOrder(const OrderRequest& request) {
  absl::MutexLock lock(&mu_);
  return PlaceLocked(request);
}

absl::StatusOr<OrderResult> BlofinExchange::PlaceLocked(const OrderRequest& request) {
  XCTL_ASSIGN_OR_RETURN(Instrument instrument,
                        CheckOrderFor(request, config_.strategy_id, "BloFin", *deps_.instruments));
  OrderRequest req = request;
  if (req.client_order_id.empty()) {
    req.client_order_id = NewClientOrderId();
  } else if (req.client_order_id.size() > 32) {
    return absl::InvalidArgumentError("BloFin client order ids have at most 32 characters");
  }
  std::optional<Order> stored;
  XCTL_RETURN_IF_ERROR(deps_.store->Read([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(stored,
                          tx.orders().GetByClientOrderId(config_.strategy_id, req.client_order_id));
    return absl::OkStatus();
  }));
  if (stored) {
    if (!MatchesRequest(*stored, req)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "client order id ", LogQuote(req.client_order_id),
          " was already used for a different order (", DescribeOrder(*stored), ")"));
    }
    std::optional<OrderResult> replayed;
    XCTL_RETURN_IF_ERROR(deps_.store->Read([&](Tx& tx) -> absl::Status {
      XCTL_ASSIGN_OR_RETURN(replayed, ReplayedResult(tx, *stored));
      return absl::OkStatus();
    }));
    return *std::move(replayed);
  }
  if (!req.reduce_only) XCTL_RETURN_IF_ERROR(EnsureLeverage(req.symbol));
  return Send(req, instrument);
}

absl::StatusOr<OrderResult> BlofinExchange::Send(const OrderRequest& req,
                                                 const Instrument& instrument) {
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
  auto placed = rest_.Post(kOrderPath, JsonObject(members), /*trade=*/true);

  if (placed.ok()) {
    std::string order_id;
    const rapidjson::Value& data = Data(*placed);
    if (data.IsArray() && !data.Empty() && data[0].IsObject() && data[0].HasMember("orderId") &&
        data[0]["orderId"].IsString()) {
      order_id = data[0]["orderId"].GetString();
    }
    auto remote = order_id.empty() ? FetchOrder("clientOrderId", req.client_order_id)
                                   : FetchOrder("orderId", order_id);
    if (remote.ok() && *remote) return Sync(**remote, instrument);
    // Accepted but not readable yet: store what was sent; OnTick syncs it.
    Order o{.strategy_id = config_.strategy_id, .client_order_id = req.client_order_id,
            .exchange_order_id = order_id, .symbol = req.symbol, .side = req.side,
            .type = req.type, .price = req.price, .quantity = req.quantity,
            .status = OrderStatus::kOpen, .reduce_only = req.reduce_only,
            .mode = TradingMode::kLive};
    o.create_time_ms = o.update_time_ms = deps_.clock->NowMillis();
    XCTL_RETURN_IF_ERROR(
        deps_.store->Transact([&](Tx& tx) { return tx.orders().Insert(&o); }));
    return OrderResult{.order = o};
  }

  const absl::Status& error = placed.status();
  const bool in_doubt = error.code() == absl::StatusCode::kUnavailable;
  const bool duplicate = error.code() == absl::StatusCode::kAlreadyExists;
  if (!in_doubt && !duplicate) return error;  // BloFin refused: nothing was placed
  // The order may have reached BloFin (no answer) or an earlier attempt placed
  // it (duplicate id): look it up by its client order id.
  auto found = FetchOrder("clientOrderId", req.client_order_id);
  if (found.ok() && *found) {
    spdlog::info("event=blofin_order_resolved strategy={} client_order_id={} after={}",
                 config_.strategy_id, req.client_order_id, LogQuote(error.message()));
    return Sync(**found, instrument);
  }
  return absl::UnavailableError(absl::StrCat(
      error.message(), "; BloFin does not list order ", req.client_order_id,
      found.ok() ? "" : absl::StrCat(" (lookup failed: ", found.status().message(), ")"),
      ". Retrying with the same client order id is safe: BloFin refuses a second order with it"));
}

absl::StatusOr<std::optional<Order>> BlofinExchange::StoredOrder(const CancelRequest& request) {
  std::optional<Order> stored;
  XCTL_RETURN_IF_ERROR(deps_.store->Read([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(stored, FindOrder(tx, config_.strategy_id, request));
    return absl::OkStatus();
  }));
  return stored;
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
  const std::string body =
      stored->exchange_order_id.empty()
          ? JsonObject({{"instId", stored->symbol}, {"clientOrderId", stored->client_order_id}})
          : JsonObject({{"instId", stored->symbol}, {"orderId", stored->exchange_order_id}});
  auto cancelled = rest_.Post(kCancelPath, body, /*trade=*/true);
  const bool gone = !cancelled.ok() && blofin::BlofinCode(cancelled.status()) == "102041";
  if (!cancelled.ok() && !gone) return cancelled.status();
  // Read BloFin's final state (the order may have filled before the cancel).
  XCTL_ASSIGN_OR_RETURN(std::optional<Order> remote,
                        FetchOrder("clientOrderId", stored->client_order_id));
  auto instrument = deps_.instruments->Get(stored->symbol);
  if (!remote || !instrument.ok()) {
    Order o = *stored;
    o.status = OrderStatus::kCanceled;
    o.update_time_ms = deps_.clock->NowMillis();
    XCTL_RETURN_IF_ERROR(deps_.store->Transact([&](Tx& tx) { return tx.orders().Update(o); }));
    return o;
  }
  XCTL_ASSIGN_OR_RETURN(OrderResult synced, Sync(*remote, *instrument));
  if (gone && synced.order.status != OrderStatus::kCanceled) {
    return absl::FailedPreconditionError(absl::StrCat(
        which, " cannot be cancelled: it is already ", ToString(synced.order.status)));
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
  XCTL_ASSIGN_OR_RETURN(rapidjson::Document doc,
                        rest_.Get("/api/v1/account/positions", {{"instId", request.symbol}}));
  std::optional<Position> open;
  if (Data(doc).IsArray()) {
    for (const auto& v : Data(doc).GetArray()) {
      XCTL_ASSIGN_OR_RETURN(Position p, blofin::ParsePosition(v));
      if (p.symbol == request.symbol && p.quantity.is_positive()) open = p;
    }
  }
  if (!open) {
    return absl::FailedPreconditionError(
        absl::StrCat("no open position in ", request.symbol, " on BloFin to close"));
  }
  const Decimal quantity = request.quantity.value_or(open->quantity);
  if (quantity > open->quantity) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot close ", quantity.ToString(), " contracts: the open ", ToString(open->side),
        " position in ", request.symbol, " is ", open->quantity.ToString()));
  }
  order.side = Opposite(open->side);
  order.quantity = quantity;
  return PlaceLocked(order);
}

absl::StatusOr<std::vector<Order>> BlofinExchange::OpenOrders() {
  absl::MutexLock lock(&mu_);
  XCTL_ASSIGN_OR_RETURN(rapidjson::Document doc, rest_.Get("/api/v1/trade/orders-pending"));
  std::vector<Order> out;
  if (Data(doc).IsArray()) {
    for (const auto& v : Data(doc).GetArray()) {
      XCTL_ASSIGN_OR_RETURN(Order o, blofin::ParseOrder(v));
      o.strategy_id = config_.strategy_id;
      out.push_back(std::move(o));
    }
  }
  XCTL_RETURN_IF_ERROR(deps_.store->Read([&](Tx& tx) -> absl::Status {
    for (Order& o : out) {
      if (o.client_order_id.empty()) continue;
      XCTL_ASSIGN_OR_RETURN(std::optional<Order> local,
                            tx.orders().GetByClientOrderId(config_.strategy_id, o.client_order_id));
      if (local) o.id = local->id;
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<Position>> BlofinExchange::Positions() {
  absl::MutexLock lock(&mu_);
  XCTL_ASSIGN_OR_RETURN(rapidjson::Document doc, rest_.Get("/api/v1/account/positions"));
  std::vector<Position> out;
  if (Data(doc).IsArray()) {
    for (const auto& v : Data(doc).GetArray()) {
      XCTL_ASSIGN_OR_RETURN(Position p, blofin::ParsePosition(v));
      if (!p.quantity.is_positive()) continue;
      p.strategy_id = config_.strategy_id;
      out.push_back(std::move(p));
    }
  }
  // Ids, fees and open times of the rows xctl keeps for them.
  XCTL_RETURN_IF_ERROR(deps_.store->Read([&](Tx& tx) -> absl::Status {
    for (Position& p : out) {
      XCTL_ASSIGN_OR_RETURN(std::optional<Position> local,
                            tx.positions().GetOpen(config_.strategy_id, p.symbol));
      if (local && local->side == p.side) {
        p.id = local->id;
        p.fees = local->fees;
        if (p.open_time_ms == 0) p.open_time_ms = local->open_time_ms;
      }
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<Account> BlofinExchange::Balance() {
  absl::MutexLock lock(&mu_);
  XCTL_ASSIGN_OR_RETURN(rapidjson::Document doc, rest_.Get("/api/v1/account/balance"));
  XCTL_ASSIGN_OR_RETURN(Account account, blofin::ParseBalance(Data(doc)));
  account.strategy_id = config_.strategy_id;
  account.leverage = config_.leverage;
  account.update_time_ms = deps_.clock->NowMillis();
  XCTL_RETURN_IF_ERROR(deps_.store->Transact([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(std::optional<Account> stored, tx.accounts().Get(config_.strategy_id));
    // The first balance read is the starting point of the strategy's return.
    account.starting_balance = stored ? stored->starting_balance
                               : config_.starting_balance.is_positive() ? config_.starting_balance
                                                                         : account.balance;
    return tx.accounts().Upsert(account);
  }));
  return account;
}

std::vector<OrderResult> BlofinExchange::OnTick(const Tick& tick) {
  std::vector<OrderResult> results;
  absl::MutexLock lock(&mu_);
  const absl::Time now = deps_.clock->Now();
  auto last = last_sync_.find(tick.pair);
  if (last != last_sync_.end() && now - last->second < config_.order_sync_interval) return results;
  last_sync_[tick.pair] = now;
  std::vector<Order> resting;
  absl::Status read = deps_.store->Read([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(resting, tx.orders().ListResting(config_.strategy_id));
    return absl::OkStatus();
  });
  if (!read.ok()) {
    spdlog::warn("event=blofin_sync_failed strategy={} error={}", config_.strategy_id,
                 LogQuote(read.ToString()));
    return results;
  }
  for (const Order& local : resting) {
    if (local.symbol != tick.pair) continue;
    auto remote = FetchOrder("clientOrderId", local.client_order_id);
    auto instrument = deps_.instruments->Get(local.symbol);
    if (!remote.ok() || !instrument.ok()) {
      spdlog::warn("event=blofin_sync_failed strategy={} order={} error={}", config_.strategy_id,
                   local.id,
                   LogQuote(!remote.ok() ? remote.status().ToString()
                                         : instrument.status().ToString()));
      continue;
    }
    if (!*remote) continue;
    const Order& r = **remote;
    if (r.status == local.status && r.filled_quantity == local.filled_quantity) continue;
    auto synced = Sync(r, *instrument);
    if (!synced.ok()) {
      spdlog::warn("event=blofin_sync_failed strategy={} order={} error={}", config_.strategy_id,
                   local.id, LogQuote(synced.status().ToString()));
      continue;
    }
    results.push_back(*std::move(synced));
  }
  return results;
}

absl::StatusOr<ReconcileReport> BlofinExchange::Reconcile() {
  absl::MutexLock lock(&mu_);
  ReconcileReport report;
  const int64_t now = deps_.clock->NowMillis();

  // Orders.
  XCTL_ASSIGN_OR_RETURN(rapidjson::Document pending_doc,
                        rest_.Get("/api/v1/trade/orders-pending"));
  std::vector<Order> pending;
  if (Data(pending_doc).IsArray()) {
    for (const auto& v : Data(pending_doc).GetArray()) {
      XCTL_ASSIGN_OR_RETURN(Order o, blofin::ParseOrder(v));
      o.strategy_id = config_.strategy_id;
      pending.push_back(std::move(o));
    }
  }
  std::vector<Order> resting;
  absl::flat_hash_set<std::string> known;
  XCTL_RETURN_IF_ERROR(deps_.store->Read([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(resting, tx.orders().ListResting(config_.strategy_id));
    for (const Order& o : pending) {
      XCTL_ASSIGN_OR_RETURN(std::optional<Order> local,
                            tx.orders().GetByClientOrderId(config_.strategy_id,
                                                           o.client_order_id));
      if (local) known.insert(o.client_order_id);
    }
    return absl::OkStatus();
  }));
  for (const Order& o : pending) {
    if (known.contains(o.client_order_id)) continue;
    Order adopt = o;
    if (adopt.client_order_id.empty()) adopt.client_order_id = "bf" + o.exchange_order_id;
    auto instrument = deps_.instruments->Get(o.symbol);
    if (!instrument.ok()) return instrument.status();
    XCTL_RETURN_IF_ERROR(Sync(adopt, *instrument).status());
    ++report.orders_adopted;
    report.changes.push_back(absl::StrCat("adopted BloFin order ", o.exchange_order_id, " (",
                                          ToString(o.side), " ", o.quantity.ToString(), " ",
                                          o.symbol, ") that the store lacked"));
  }
  absl::flat_hash_set<std::string> pending_ids;
  for (const Order& o : pending) pending_ids.insert(o.client_order_id);
  for (const Order& local : resting) {
    if (pending_ids.contains(local.client_order_id)) continue;
    XCTL_ASSIGN_OR_RETURN(std::optional<Order> remote,
                          FetchOrder("clientOrderId", local.client_order_id));
    ++report.orders_closed;
    if (remote) {
      XCTL_ASSIGN_OR_RETURN(OrderResult synced, Sync(*remote, InstrumentOrGeneric(local.symbol)));
      report.changes.push_back(absl::StrCat("order ", local.id, " is ",
                                            ToString(synced.order.status), " on BloFin"));
      continue;
    }
    Order o = local;
    o.status = OrderStatus::kCanceled;
    o.reject_reason = "not found on BloFin at reconciliation";
    o.update_time_ms = now;
    XCTL_RETURN_IF_ERROR(deps_.store->Transact([&](Tx& tx) { return tx.orders().Update(o); }));
    report.changes.push_back(
        absl::StrCat("order ", local.id, " is unknown to BloFin: marked cancelled"));
  }

  // Positions.
  XCTL_ASSIGN_OR_RETURN(rapidjson::Document pos_doc, rest_.Get("/api/v1/account/positions"));
  absl::flat_hash_map<std::string, Position> remote_positions;
  if (Data(pos_doc).IsArray()) {
    for (const auto& v : Data(pos_doc).GetArray()) {
      XCTL_ASSIGN_OR_RETURN(Position p, blofin::ParsePosition(v));
      if (p.quantity.is_positive()) remote_positions[p.symbol] = p;
    }
  }
  XCTL_RETURN_IF_ERROR(deps_.store->Transact([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(std::vector<Position> open, tx.positions().ListOpen(config_.strategy_id));
    absl::flat_hash_set<std::string> covered;
    for (Position row : open) {
      if (row.exchange != "blofin") {
        covered.insert(row.symbol);  // a paper row from before a switch: left alone
        continue;
      }
      auto it = remote_positions.find(row.symbol);
      if (it == remote_positions.end() || it->second.side != row.side) {
        row.status = PositionStatus::kClosed;
        row.close_time_ms = now;
        row.close_price = row.open_price;
        row.pnl = Decimal();
        XCTL_RETURN_IF_ERROR(tx.positions().Update(row));
        ++report.positions_closed;
        report.changes.push_back(absl::StrCat(
            "position ", row.id, " (", ToString(row.side), " ", row.quantity.ToString(), " ",
            row.symbol, ") is not open on BloFin: closed (closed outside xctl; pnl unknown, "
            "recorded as 0)"));
        continue;
      }
      covered.insert(row.symbol);
      if (it->second.quantity != row.quantity) {
        report.changes.push_back(absl::StrCat("position ", row.id, " quantity corrected from ",
                                              row.quantity.ToString(), " to ",
                                              it->second.quantity.ToString(), " (BloFin)"));
        row.quantity = it->second.quantity;
        row.open_price = it->second.open_price;
        XCTL_RETURN_IF_ERROR(tx.positions().Update(row));
      }
    }
    for (auto& [symbol, remote] : remote_positions) {
      if (covered.contains(symbol)) continue;
      Position row = remote;
      row.strategy_id = config_.strategy_id;
      if (row.open_time_ms == 0) row.open_time_ms = now;
      XCTL_RETURN_IF_ERROR(tx.positions().Insert(&row));
      ++report.positions_adopted;
      report.changes.push_back(absl::StrCat("adopted BloFin position ", ToString(row.side), " ",
                                            row.quantity.ToString(), " ", symbol, " at ",
                                            row.open_price.ToString(), " as position ", row.id));
    }
    return absl::OkStatus();
  }));
  return report;
}

Instrument BlofinExchange::InstrumentOrGeneric(absl::string_view symbol) const {
  auto spec = deps_.instruments->Get(symbol);
  return spec.ok() ? *spec : GenericInstrument(symbol);
}

}  // namespace xctl
