// BlofinExchange: what the private WebSocket (private_ws.h) pushes, applied
// to the store through the REST paths (Sync, Refresh, Reconcile, the
// account write), then queued and announced to exchange control
// (SetResultsReady), which takes it (TakeResults, or OnTick's return) and
// publishes it without waiting for a tick. docs/exchanges.md, "Private
// WebSocket".
//
// The docs say little about order, repetition and timing of pushes (index.md
// "WS Order Channel": "Data will only be pushed when there are order
// updates"; nothing on order or duplicates), so the least convenient is
// assumed:
//  - pushes may come out of order or twice: an order push is used only when
//    it is ahead of the stored order (more filled, or a state change of an
//    order that is not final yet); a fill is recorded by its trade id
//    ("GET Trade History"), read by Sync, so nothing is recorded twice;
//  - the orders push carries the cumulative filledSize but no trade id, and
//    the fills list may lag it: the order stays resting in the store with the
//    fills BloFin lists, and is refreshed on ticks until both agree;
//  - a push may come before the REST answer of the order's placement: the
//    placement holds the exchange's lock until the order is stored, and a
//    push is applied under that lock, so it finds the order;
//  - a positions push may come before the orders push that explains it:
//    positions follow from the recorded fills; a pushed position that still
//    differs from the stored one after order_sync_interval is settled by
//    the REST reconcile;
//  - nothing missed while disconnected is pushed again ("Data will not be
//    pushed when first subscribed"): every (re)connect refreshes the resting
//    orders and runs Reconcile.
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/exchange/blofin/blofin_exchange.h"

namespace xctl {
namespace {

bool Final(OrderStatus s) {
  return s != OrderStatus::kOpen && s != OrderStatus::kPartiallyFilled;
}

}  // namespace

BlofinExchange::PushStats BlofinExchange::push_stats() const {
  absl::MutexLock lock(&push_mu_);
  return push_stats_;
}

void BlofinExchange::CountPush(uint64_t PushStats::*field, uint64_t n) {
  absl::MutexLock lock(&push_mu_);
  push_stats_.*field += n;
}

void BlofinExchange::Publish(std::vector<OrderResult> results) {
  if (results.empty()) return;
  ResultsReady ready;
  {
    absl::MutexLock lock(&push_mu_);
    for (OrderResult& r : results) pushed_.push_back(std::move(r));
    ready = results_ready_;
  }
  if (ready) ready();  // no lock of the exchange held
}

void BlofinExchange::SetResultsReady(ResultsReady ready) {
  bool waiting = false;
  {
    absl::MutexLock lock(&push_mu_);
    results_ready_ = ready;
    waiting = !pushed_.empty();
  }
  if (ready && waiting) ready();
}

std::vector<OrderResult> BlofinExchange::TakeResults() {
  std::vector<OrderResult> results;
  absl::MutexLock lock(&push_mu_);
  results.swap(pushed_);
  return results;
}

void BlofinExchange::OnPrivateReady() {
  std::vector<OrderResult> results;
  absl::StatusOr<ReconcileReport> report;
  {
    absl::MutexLock lock(&mu_);
    lagging_.clear();
    position_mismatch_.clear();
    std::vector<Order> resting;
    absl::Status read = deps_.store->Read([&](Tx& tx) -> absl::Status {
      XCTL_ASSIGN_OR_RETURN(resting, tx.orders().ListResting(config_.strategy_id));
      return absl::OkStatus();
    });
    for (const Order& local : read.ok() ? resting : std::vector<Order>()) {
      auto refreshed = Refresh(local, /*background=*/true);
      if (refreshed.ok() && *refreshed) results.push_back(**std::move(refreshed));
    }
    report = ReconcileLocked();
  }
  if (!report.ok()) {
    spdlog::warn("event=blofin_ws_reconcile_failed strategy={} error={}", config_.strategy_id,
                 LogQuote(report.status().message()));
  } else {
    for (const std::string& change : report->changes) {
      spdlog::info("event=blofin_ws_reconciled strategy={} change={}", config_.strategy_id,
                   LogQuote(change));
    }
  }
  Publish(std::move(results));
  CountPush(&PushStats::gap_refreshes);
}

void BlofinExchange::OnPrivatePush(const blofin::WsPrivateMessage& push) {
  using Kind = blofin::WsPrivateMessage::Kind;
  std::vector<OrderResult> results;
  {
    absl::MutexLock lock(&mu_);
    if (push.kind == Kind::kOrders) {
      for (const Order& remote : push.orders) {
        if (std::optional<OrderResult> r = ApplyPushedOrder(remote)) results.push_back(*r);
      }
    } else if (push.kind == Kind::kPositions) {
      ComparePushedPositions(push.positions);
    } else if (push.kind == Kind::kAccount) {
      // Out of order: an older account push than the last applied is dropped.
      if (push.account.update_time_ms >= account_push_ts_) {
        account_push_ts_ = push.account.update_time_ms;
        Account account = push.account;
        account.update_time_ms = deps_.clock->NowMillis();
        absl::Status stored = StoreAccount(account);
        if (stored.ok()) {
          CountPush(&PushStats::accounts_applied);
          results.push_back(OrderResult{.account = account});
        } else {
          spdlog::warn("event=blofin_ws_account_failed strategy={} error={}",
                       config_.strategy_id, LogQuote(stored.message()));
        }
      }
    }
  }
  Publish(std::move(results));
}

std::optional<OrderResult> BlofinExchange::ApplyPushedOrder(Order remote) {
  remote.strategy_id = config_.strategy_id;
  // Orders placed outside xctl are kept under "bf" + BloFin's id (Reconcile).
  if (remote.client_order_id.empty()) remote.client_order_id = "bf" + remote.exchange_order_id;
  std::optional<Order> local;
  absl::Status read = deps_.store->Read([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(local, tx.orders().GetByClientOrderId(config_.strategy_id,
                                                                remote.client_order_id));
    return absl::OkStatus();
  });
  if (!read.ok()) {
    spdlog::warn("event=blofin_ws_order_failed strategy={} order={} error={}",
                 config_.strategy_id, remote.exchange_order_id, LogQuote(read.message()));
    lagging_[remote.client_order_id] = remote;  // tried again on ticks
    return std::nullopt;
  }
  if (!local) {
    CountPush(&PushStats::orders_unknown);
    // A close BloFin placed for a TP/SL ("orderCategory" tp/sl) is found
    // the REST way while the stored position carries one; anything else is
    // adopted by the next Reconcile.
    if (std::optional<Position> armed = ArmedPosition(remote.symbol)) {
      auto closes = SyncTriggeredCloses(*armed);
      if (closes.ok() && !closes->empty()) return closes->front();
    }
    return std::nullopt;
  }
  const bool same = remote.filled_quantity == local->filled_quantity &&
                    remote.status == local->status && !local->exchange_order_id.empty();
  if (Final(local->status) || remote.filled_quantity < local->filled_quantity || same) {
    CountPush(&PushStats::orders_ignored);  // final, stale or a duplicate
    return std::nullopt;
  }
  auto synced = Sync(remote, InstrumentOrGeneric(remote.symbol));
  if (!synced.ok()) {
    spdlog::warn("event=blofin_ws_order_failed strategy={} order={} error={}",
                 config_.strategy_id, remote.exchange_order_id,
                 LogQuote(synced.status().message()));
    lagging_[remote.client_order_id] = remote;
    return std::nullopt;
  }
  if (synced->order.filled_quantity < remote.filled_quantity) {
    lagging_[remote.client_order_id] = remote;  // fills not all listed yet
  } else {
    lagging_.erase(remote.client_order_id);
  }
  CountPush(&PushStats::orders_applied);
  CountPush(&PushStats::fills_recorded, synced->fills.size());
  return *std::move(synced);
}

void BlofinExchange::ComparePushedPositions(const std::vector<blofin::RemotePosition>& pushed) {
  const absl::Time now = deps_.clock->Now();
  for (const blofin::RemotePosition& r : pushed) {
    if (r.margin_mode != config_.margin_mode) continue;  // not this strategy's
    std::optional<Position> stored;
    absl::Status read = deps_.store->Read([&](Tx& tx) -> absl::Status {
      XCTL_ASSIGN_OR_RETURN(stored, tx.positions().GetOpen(config_.strategy_id,
                                                           r.position.symbol));
      return absl::OkStatus();
    });
    if (!read.ok()) continue;
    const bool remote_open = r.position.quantity.is_positive();
    const bool agree = stored ? remote_open && stored->side == r.position.side &&
                                    stored->quantity == r.position.quantity
                              : !remote_open;
    if (agree) {
      position_mismatch_.erase(r.position.symbol);
    } else if (!position_mismatch_.contains(r.position.symbol)) {
      position_mismatch_[r.position.symbol] = now;
      CountPush(&PushStats::position_mismatches);
    }
  }
}

void BlofinExchange::FollowPushes(std::vector<OrderResult>* results) {
  const absl::Time now = deps_.clock->Now();
  // Orders whose fills lagged their push: at most once per interval each.
  if (!lagging_.empty()) {
    auto last = last_sync_.find("");
    if (last == last_sync_.end() || now - last->second >= config_.order_sync_interval) {
      last_sync_[""] = now;
      std::vector<Order> lagging;
      for (const auto& [cid, remote] : lagging_) lagging.push_back(remote);
      lagging_.clear();
      for (const Order& remote : lagging) {
        if (std::optional<OrderResult> r = ApplyPushedOrder(remote)) results->push_back(*r);
      }
    }
  }
  bool settle = false;
  for (const auto& [symbol, since] : position_mismatch_) {
    if (now - since >= config_.order_sync_interval) settle = true;
  }
  if (!settle || !lagging_.empty()) return;
  position_mismatch_.clear();
  auto report = ReconcileLocked();
  if (!report.ok()) {
    spdlog::warn("event=blofin_ws_reconcile_failed strategy={} error={}", config_.strategy_id,
                 LogQuote(report.status().message()));
  }
}

}  // namespace xctl
