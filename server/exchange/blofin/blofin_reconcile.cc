// BlofinExchange: the reads of the account (open orders, positions, balance)
// and the ways the store is kept in line with BloFin: OnTick's refresh of
// resting orders and Reconcile at start. blofin_exchange.cc has the trading
// calls.
#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/exchange/blofin/blofin_exchange.h"
#include "server/exchange/blofin/json.h"

namespace xctl {
namespace {

// index.md, "GET Active Orders", "GET Positions", "GET Futures Account Balance".
constexpr absl::string_view kPendingPath = "/api/v1/trade/orders-pending";
constexpr absl::string_view kPositionsPath = "/api/v1/account/positions";
constexpr absl::string_view kBalancePath = "/api/v1/account/balance";

const rapidjson::Value& Data(const rapidjson::Document& doc) { return doc["data"]; }

// Every pending order of the account, all pages.
absl::StatusOr<std::vector<Order>> PendingOrders(blofin::RestClient& rest,
                                                 const std::string& strategy_id) {
  XCTL_ASSIGN_OR_RETURN(std::vector<rapidjson::Document> pages,
                        rest.GetPages(kPendingPath, {}, "orderId"));
  std::vector<Order> out;
  for (const rapidjson::Document& page : pages) {
    if (!Data(page).IsArray()) continue;
    for (const auto& v : Data(page).GetArray()) {
      XCTL_ASSIGN_OR_RETURN(Order o, blofin::ParseOrder(v));
      o.strategy_id = strategy_id;
      out.push_back(std::move(o));
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<Order>> BlofinExchange::OpenOrders() {
  absl::MutexLock lock(&mu_);
  XCTL_ASSIGN_OR_RETURN(std::vector<Order> out, PendingOrders(rest_, config_.strategy_id));
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

absl::StatusOr<std::vector<Position>> BlofinExchange::RemotePositions(absl::string_view symbol) {
  blofin::Query query;
  if (!symbol.empty()) query.push_back({"instId", std::string(symbol)});
  XCTL_ASSIGN_OR_RETURN(rapidjson::Document doc, rest_.Get(kPositionsPath, query));
  std::vector<Position> out;
  for (const rapidjson::Value* v : blofin::Items(Data(doc))) {
    XCTL_ASSIGN_OR_RETURN(blofin::RemotePosition r, blofin::ParsePosition(*v));
    // Positions are keyed by instrument and margin mode: the other margin
    // mode's positions are not this strategy's.
    if (r.margin_mode != config_.margin_mode) continue;
    if (!symbol.empty() && r.position.symbol != symbol) continue;
    if (!r.position.quantity.is_positive()) continue;
    r.position.strategy_id = config_.strategy_id;
    out.push_back(std::move(r.position));
  }
  return out;
}

absl::StatusOr<std::vector<Position>> BlofinExchange::Positions() {
  absl::MutexLock lock(&mu_);
  XCTL_ASSIGN_OR_RETURN(std::vector<Position> out, RemotePositions());
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
  return BalanceLocked();
}

absl::StatusOr<Account> BlofinExchange::BalanceLocked() {
  XCTL_ASSIGN_OR_RETURN(rapidjson::Document doc, rest_.Get(kBalancePath));
  XCTL_ASSIGN_OR_RETURN(Account account, blofin::ParseBalance(Data(doc)));
  account.update_time_ms = deps_.clock->NowMillis();
  XCTL_RETURN_IF_ERROR(StoreAccount(account));
  return account;
}

absl::Status BlofinExchange::StoreAccount(Account& account) {
  account.strategy_id = config_.strategy_id;
  account.leverage = config_.leverage;
  return deps_.store->Transact([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(std::optional<Account> stored, tx.accounts().Get(config_.strategy_id));
    // The first balance read from BloFin is the starting point of the
    // strategy's return, so KPI equity and the account agree.
    account.starting_balance = stored ? stored->starting_balance : account.balance;
    return tx.accounts().Upsert(account);
  }, fence());
}

absl::StatusOr<std::optional<OrderResult>> BlofinExchange::Refresh(const Order& local,
                                                                   bool background) {
  XCTL_ASSIGN_OR_RETURN(std::optional<Order> remote, FetchOrder(KeyOf(local), background));
  if (!remote) {
    const bool unresolved = local.exchange_order_id.empty();
    const absl::Duration age =
        deps_.clock->Now() - absl::FromUnixMillis(local.create_time_ms);
    if (unresolved && age < config_.unresolved_timeout) return std::nullopt;  // may still appear
    XCTL_ASSIGN_OR_RETURN(
        Order closed,
        CloseLocally(local, unresolved ? "never placed: BloFin has no order with this client "
                                         "order id after an unanswered submission"
                                       : "not found on BloFin"));
    spdlog::warn("event=blofin_order_closed strategy={} order={} reason={}", config_.strategy_id,
                 local.id, LogQuote(closed.reject_reason));
    return OrderResult{.order = closed};
  }
  if (remote->status == local.status && remote->filled_quantity == local.filled_quantity &&
      !local.exchange_order_id.empty()) {
    return std::nullopt;
  }
  XCTL_ASSIGN_OR_RETURN(OrderResult synced, Sync(*remote, InstrumentOrGeneric(local.symbol)));
  return synced;
}

std::vector<OrderResult> BlofinExchange::OnTick(const Tick& tick) {
  std::vector<OrderResult> results;
  absl::MutexLock lock(&mu_);
  SettleFundingLocked(tick, &results);
  {
    absl::MutexLock push_lock(&push_mu_);
    for (OrderResult& r : pushed_) results.push_back(std::move(r));
    pushed_.clear();
  }
  if (ws_ && ws_->Ready()) {
    // Pushed: no periodic request for resting orders (blofin_push.cc).
    FollowPushes(&results);
    return results;
  }
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
    auto refreshed = Refresh(local, /*background=*/true);
    if (!refreshed.ok()) {
      spdlog::warn("event=blofin_sync_failed strategy={} order={} error={}", config_.strategy_id,
                   local.id, LogQuote(refreshed.status().ToString()));
      if (refreshed.status().code() == absl::StatusCode::kResourceExhausted) break;
      continue;
    }
    if (*refreshed) results.push_back(**std::move(refreshed));
  }
  if (std::optional<Position> armed = ArmedPosition(tick.pair)) {
    auto closes = SyncTriggeredCloses(*armed);
    if (!closes.ok()) {
      spdlog::warn("event=blofin_tpsl_sync_failed strategy={} symbol={} error={}",
                   config_.strategy_id, tick.pair, LogQuote(closes.status().ToString()));
    } else {
      for (OrderResult& r : *closes) results.push_back(std::move(r));
    }
  }
  return results;
}

absl::StatusOr<ReconcileReport> BlofinExchange::Reconcile() {
  absl::MutexLock lock(&mu_);
  return ReconcileLocked();
}

absl::StatusOr<ReconcileReport> BlofinExchange::ReconcileLocked() {
  ReconcileReport report;
  const int64_t now = deps_.clock->NowMillis();
  XCTL_RETURN_IF_ERROR(EnsureAccount());

  // Orders.
  XCTL_ASSIGN_OR_RETURN(std::vector<Order> pending, PendingOrders(rest_, config_.strategy_id));
  std::vector<Order> resting;
  absl::flat_hash_set<std::string> known;
  XCTL_RETURN_IF_ERROR(deps_.store->Read([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(resting, tx.orders().ListResting(config_.strategy_id));
    for (const Order& o : pending) {
      if (o.client_order_id.empty()) continue;
      XCTL_ASSIGN_OR_RETURN(std::optional<Order> local,
                            tx.orders().GetByClientOrderId(config_.strategy_id,
                                                           o.client_order_id));
      if (local) known.insert(o.client_order_id);
    }
    return absl::OkStatus();
  }));
  absl::flat_hash_set<std::string> pending_ids;
  for (const Order& o : pending) {
    Order adopt = o;
    if (adopt.client_order_id.empty()) adopt.client_order_id = "bf" + o.exchange_order_id;
    pending_ids.insert(adopt.client_order_id);
    if (known.contains(o.client_order_id)) {
      XCTL_RETURN_IF_ERROR(Sync(adopt, InstrumentOrGeneric(o.symbol)).status());
      continue;
    }
    XCTL_ASSIGN_OR_RETURN(Instrument instrument, deps_.instruments->Get(o.symbol));
    XCTL_RETURN_IF_ERROR(Sync(adopt, instrument).status());
    ++report.orders_adopted;
    report.changes.push_back(absl::StrCat("adopted BloFin order ", o.exchange_order_id, " (",
                                          ToString(o.side), " ", o.quantity.ToString(), " ",
                                          o.symbol, ") that the store lacked"));
  }
  for (const Order& local : resting) {
    if (pending_ids.contains(local.client_order_id)) continue;
    XCTL_ASSIGN_OR_RETURN(std::optional<OrderResult> refreshed, Refresh(local, false));
    if (!refreshed) continue;
    ++report.orders_closed;
    report.changes.push_back(absl::StrCat("order ", local.id, " is ",
                                          ToString(refreshed->order.status), " on BloFin",
                                          refreshed->order.reject_reason.empty()
                                              ? ""
                                              : absl::StrCat(" (", refreshed->order.reject_reason,
                                                             ")")));
  }

  // Closes BloFin placed for TP/SL while xctl was away, before positions are
  // compared (else the position would be closed with pnl unknown).
  std::vector<Position> stored_open;
  XCTL_RETURN_IF_ERROR(deps_.store->Read([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(stored_open, tx.positions().ListOpen(config_.strategy_id));
    return absl::OkStatus();
  }));
  for (const Position& p : stored_open) {
    if (p.exchange != "blofin" || (!p.take_profit && !p.stop_loss)) continue;
    XCTL_ASSIGN_OR_RETURN(std::vector<OrderResult> closes, SyncTriggeredCloses(p));
    for (const OrderResult& r : closes) {
      report.changes.push_back(absl::StrCat("recorded BloFin's ", ToString(r.order.side), " ",
                                            r.order.quantity.ToString(), " ", r.order.symbol,
                                            " close of position ", p.id,
                                            " placed by its take-profit / stop-loss"));
    }
  }

  // Positions.
  XCTL_ASSIGN_OR_RETURN(std::vector<Position> remote_list, RemotePositions());
  absl::flat_hash_map<std::string, Position> remote_positions;
  for (Position& p : remote_list) remote_positions[p.symbol] = std::move(p);
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
  }, fence()));
  XCTL_RETURN_IF_ERROR(BalanceLocked().status());
  return report;
}

}  // namespace xctl
