// Test support for the strategy manager: a StrategyTrading that records every
// call and keeps a net position per (strategy, symbol) from the orders it
// accepted, so strategies that read OpenPositions see their own trades.
// Errors can be injected per strategy. Thread-safe.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/control/strategy_info.h"

namespace xctl::testing {

class FakeTrading : public StrategyTrading {
 public:
  struct Close {
    std::string strategy_id;
    CloseRequest request;
  };

  absl::Status UpsertStrategy(const StrategyInfo& info) override {
    absl::MutexLock lock(&mu_);
    upserts_.push_back(info);
    if (auto it = upsert_errors_.find(info.id); it != upsert_errors_.end()) {
      // Like a failed live reconciliation: only refuses live upserts when asked.
      if (!only_live_fails_ || info.credentials) return it->second;
    }
    known_[info.id] = info;
    return absl::OkStatus();
  }
  absl::Status RemoveStrategy(absl::string_view id) override {
    absl::MutexLock lock(&mu_);
    removed_.emplace_back(id);
    if (known_.erase(std::string(id)) == 0) return absl::NotFoundError("unknown strategy");
    return absl::OkStatus();
  }
  absl::Status SetRunning(absl::string_view id, bool running) override {
    absl::MutexLock lock(&mu_);
    set_running_.emplace_back(std::string(id), running);
    if (next_set_running_error_) {
      absl::Status error = *std::move(next_set_running_error_);
      next_set_running_error_.reset();
      return error;
    }
    auto it = known_.find(std::string(id));
    if (it == known_.end()) return absl::NotFoundError("unknown strategy");
    it->second.running = running;
    return absl::OkStatus();
  }
  absl::StatusOr<OrderResult> PlaceOrder(const OrderRequest& request) override {
    absl::MutexLock lock(&mu_);
    orders_.push_back(request);
    if (absl::Status s = CheckRunningLocked(request.strategy_id); !s.ok()) return s;
    if (place_error_) return *place_error_;
    Decimal signed_qty = request.side == Side::kBuy ? request.quantity : -request.quantity;
    net_[{request.strategy_id, request.symbol}] += signed_qty;
    return ResultLocked(request.strategy_id, request.symbol, request.side, request.quantity,
                        request.client_order_id);
  }
  absl::StatusOr<OrderResult> ClosePosition(absl::string_view id,
                                            const CloseRequest& request) override {
    absl::MutexLock lock(&mu_);
    closes_.push_back({std::string(id), request});
    if (absl::Status s = CheckRunningLocked(id); !s.ok()) return s;
    Decimal& net = net_[{std::string(id), request.symbol}];
    if (net.is_zero()) return absl::FailedPreconditionError("no open position");
    Decimal qty = request.quantity.value_or(net.Abs());
    Side side = net.is_positive() ? Side::kSell : Side::kBuy;
    net += side == Side::kBuy ? qty : -qty;
    return ResultLocked(std::string(id), request.symbol, side, qty, request.client_order_id);
  }
  absl::StatusOr<std::vector<Position>> OpenPositions(absl::string_view id) override {
    absl::MutexLock lock(&mu_);
    std::vector<Position> out;
    for (const auto& [key, net] : net_) {
      if (key.first != id || net.is_zero()) continue;
      out.push_back(Position{.strategy_id = key.first,
                             .symbol = key.second,
                             .side = net.is_positive() ? PositionSide::kLong : PositionSide::kShort,
                             .quantity = net.Abs(),
                             .status = PositionStatus::kOpen});
    }
    return out;
  }
  absl::StatusOr<bool> HasOpenExposure(absl::string_view id) override {
    absl::MutexLock lock(&mu_);
    if (!known_.contains(std::string(id))) return absl::NotFoundError("unknown strategy");
    if (exposed_.contains(std::string(id))) return true;
    for (const auto& [key, net] : net_) {
      if (key.first == id && !net.is_zero()) return true;
    }
    return false;
  }

  // ---- test controls and records ----
  void FailUpserts(const std::string& id, absl::Status error, bool only_live = false) {
    absl::MutexLock lock(&mu_);
    upsert_errors_[id] = std::move(error);
    only_live_fails_ = only_live;
  }
  void ClearUpsertErrors() {
    absl::MutexLock lock(&mu_);
    upsert_errors_.clear();
  }
  // The next SetRunning fails (after an UpsertStrategy that succeeded: a
  // change control half applied).
  void FailNextSetRunning(absl::Status error) {
    absl::MutexLock lock(&mu_);
    next_set_running_error_ = std::move(error);
  }
  void FailOrders(std::optional<absl::Status> error) {
    absl::MutexLock lock(&mu_);
    place_error_ = std::move(error);
  }
  void SetExposed(const std::string& id, bool exposed) {
    absl::MutexLock lock(&mu_);
    if (exposed) {
      exposed_.insert(id);
    } else {
      exposed_.erase(id);
    }
  }
  void SetNet(const std::string& id, const std::string& symbol, Decimal net) {
    absl::MutexLock lock(&mu_);
    net_[{id, symbol}] = net;
  }
  std::vector<StrategyInfo> upserts() const {
    absl::MutexLock lock(&mu_);
    return upserts_;
  }
  std::vector<StrategyInfo> upserts_of(const std::string& id) const {
    absl::MutexLock lock(&mu_);
    std::vector<StrategyInfo> out;
    for (const auto& u : upserts_) {
      if (u.id == id) out.push_back(u);
    }
    return out;
  }
  std::vector<std::pair<std::string, bool>> set_running() const {
    absl::MutexLock lock(&mu_);
    return set_running_;
  }
  std::vector<std::string> removed() const {
    absl::MutexLock lock(&mu_);
    return removed_;
  }
  std::vector<OrderRequest> orders() const {
    absl::MutexLock lock(&mu_);
    return orders_;
  }
  std::vector<Close> closes() const {
    absl::MutexLock lock(&mu_);
    return closes_;
  }
  // What control currently holds for a strategy.
  std::optional<StrategyInfo> known(const std::string& id) const {
    absl::MutexLock lock(&mu_);
    auto it = known_.find(id);
    if (it == known_.end()) return std::nullopt;
    return it->second;
  }
  void ClearRecords() {
    absl::MutexLock lock(&mu_);
    upserts_.clear();
    set_running_.clear();
    removed_.clear();
    orders_.clear();
    closes_.clear();
  }

 private:
  absl::Status CheckRunningLocked(absl::string_view id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = known_.find(std::string(id));
    if (it == known_.end()) return absl::NotFoundError(absl::StrCat("unknown strategy ", id));
    if (!it->second.running) return absl::FailedPreconditionError("strategy is stopped");
    return absl::OkStatus();
  }
  OrderResult ResultLocked(const std::string& id, const std::string& symbol, Side side,
                           Decimal qty, const std::string& coid)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    OrderResult r;
    r.order = Order{.id = ++next_order_id_,
                    .strategy_id = id,
                    .client_order_id = coid.empty() ? absl::StrCat("fake-", next_order_id_) : coid,
                    .symbol = symbol,
                    .side = side,
                    .quantity = qty,
                    .status = OrderStatus::kFilled,
                    .filled_quantity = qty};
    r.fills.push_back(Fill{.id = next_order_id_,
                           .order_id = next_order_id_,
                           .strategy_id = id,
                           .symbol = symbol,
                           .side = side,
                           .price = Decimal::FromInt(100),
                           .quantity = qty});
    return r;
  }

  mutable absl::Mutex mu_;
  std::map<std::string, StrategyInfo> known_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Status> upsert_errors_ ABSL_GUARDED_BY(mu_);
  bool only_live_fails_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<absl::Status> place_error_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> next_set_running_error_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> exposed_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, Decimal> net_ ABSL_GUARDED_BY(mu_);
  int64_t next_order_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<StrategyInfo> upserts_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<std::string, bool>> set_running_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> removed_ ABSL_GUARDED_BY(mu_);
  std::vector<OrderRequest> orders_ ABSL_GUARDED_BY(mu_);
  std::vector<Close> closes_ ABSL_GUARDED_BY(mu_);
};

}  // namespace xctl::testing
