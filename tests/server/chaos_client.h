// Test support for the chaos run (cluster_chaos_test.cc): the order clients
// and the node directory they dial through.
//
// A ChaosClient is connected to one instance (its home) and places market
// orders for randomly chosen strategies, each with a fresh client order id,
// one after the other. It keeps its own record of every order and every
// attempt with the answer (in memory for the final checks, and as lines in a
// log file for a person replaying a failure). An order is retried with the
// same client order id until it is acknowledged: a non-owner's UNAVAILABLE
// naming the owner ("runs on instance node2") is followed at once; any other
// transient answer (no live owner yet, a lease lost mid-way, stale prices, a
// database or an instance gone) is retried after a pause, on the next
// instance when the answer did not come from an xctld. A client that sends
// everything to its home works unchanged once instances forward trades to
// the owner (issue #18, item 2): then home simply answers.
#pragma once

#include <atomic>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "xctl/v1/exchange_control.grpc.pb.h"

namespace xctl::testing {

// node index -> the stub of its current process (replaced on a restart,
// which listens on a new port); null while it is down.
class NodeDirectory {
 public:
  explicit NodeDirectory(int nodes) : stubs_(nodes) {}
  int size() const { return static_cast<int>(stubs_.size()); }
  void Set(int node, std::shared_ptr<grpc::Channel> channel) {
    absl::MutexLock lock(&mu_);
    stubs_[node] = channel ? std::shared_ptr<v1::ExchangeControl::Stub>(
                                 v1::ExchangeControl::NewStub(channel))
                           : nullptr;
  }
  std::shared_ptr<v1::ExchangeControl::Stub> Get(int node) const {
    absl::MutexLock lock(&mu_);
    return stubs_[node];
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::shared_ptr<v1::ExchangeControl::Stub>> stubs_ ABSL_GUARDED_BY(mu_);
};

// "... runs on instance node2 (lease epoch 3) ..." -> 2 (the non-owner's
// answer, docs/cluster.md "What a non-owner answers"); nullopt otherwise.
inline std::optional<int> OwnerNamed(const std::string& message) {
  const std::string kRuns = "runs on instance node";
  size_t at = message.find(kRuns);
  if (at == std::string::npos) return std::nullopt;
  int node = 0;
  if (!absl::SimpleAtoi(message.substr(at + kRuns.size(), 1), &node)) return std::nullopt;
  return node;
}

// One order as its client saw it.
struct ClientOrder {
  std::string strategy;
  std::string client_order_id;
  v1::Side side = v1::SIDE_BUY;
  std::string quantity;
  int attempts = 0;
  bool acked = false;
  int acked_by = -1;        // the node that answered OK
  bool replayed = false;    // the answer said it was a stored result
  std::string refused;      // a definitive refusal (not retried): code and message
};

class ChaosClient {
 public:
  // `seed` drives its choice of strategies, sides, quantities and of the
  // pause between two orders (between `pause_ms_min` and `pause_ms_max`).
  ChaosClient(int id, int home, std::vector<std::string> strategies, NodeDirectory* nodes,
              uint64_t seed, const std::string& log_path, int pause_ms_min, int pause_ms_max)
      : id_(id), home_(home), strategies_(std::move(strategies)), nodes_(nodes), rng_(seed),
        log_(log_path), pause_ms_min_(pause_ms_min), pause_ms_max_(pause_ms_max) {}
  ~ChaosClient() { Join(); }

  void Start() {
    thread_ = std::thread([this] { Run(); });
  }
  // No new orders after the current one.
  void StopNewOrders() { stop_new_ = true; }
  // Gives up the current order too (used only when the run is over its limit).
  void Abort() { abort_ = true; }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  // Orders finished (acknowledged or refused); the current one is not.
  int done() const { return done_; }
  int acked() const { return acked_; }
  int named_owner_follows() const { return follows_; }
  // True once the thread stopped placing orders.
  bool finished() const { return finished_; }
  // Hold(): no new order until Release(); idle() is true once the current
  // one is done and the client waits.
  void Hold() {
    absl::MutexLock lock(&hold_mu_);
    held_ = true;
  }
  void Release() {
    absl::MutexLock lock(&hold_mu_);
    held_ = false;
  }
  bool idle() const {
    absl::MutexLock lock(&hold_mu_);
    return !in_order_;
  }
  // After Join().
  const std::vector<ClientOrder>& orders() const { return orders_; }

 private:
  static bool Retryable(grpc::StatusCode code) {
    switch (code) {
      case grpc::StatusCode::UNAVAILABLE:          // non-owner, no live owner, instance gone
      case grpc::StatusCode::DEADLINE_EXCEEDED:    // a paused instance or database
      case grpc::StatusCode::ABORTED:              // LEASE_LOST: a fenced write refused
      case grpc::StatusCode::FAILED_PRECONDITION:  // stale price while nobody leads
      case grpc::StatusCode::INTERNAL:             // a database error mid-way
      case grpc::StatusCode::UNKNOWN:
      case grpc::StatusCode::CANCELLED:
      case grpc::StatusCode::RESOURCE_EXHAUSTED:
        return true;
      default:
        return false;
    }
  }

  void Run() {
    std::uniform_int_distribution<size_t> pick(0, strategies_.size() - 1);
    std::uniform_int_distribution<int> coin(0, 1), qty(1, 3),
        pause_ms(pause_ms_min_, pause_ms_max_);
    for (int k = 0; !stop_new_ && !abort_; ++k) {
      while (!BeginOrder() && !stop_new_ && !abort_) absl::SleepFor(absl::Milliseconds(5));
      if (stop_new_ || abort_) break;
      ClientOrder o;
      o.strategy = strategies_[pick(rng_)];
      o.client_order_id = absl::StrCat("x", id_, "n", k);  // letters and digits (BloFin)
      o.side = coin(rng_) == 0 ? v1::SIDE_BUY : v1::SIDE_SELL;
      o.quantity = absl::StrCat(qty(rng_));
      Place(o);
      EndOrder();
      orders_.push_back(o);
      if (o.acked) ++acked_;
      if (o.acked || !o.refused.empty()) ++done_;
      absl::SleepFor(absl::Milliseconds(pause_ms(rng_)));
    }
    EndOrder();
    finished_ = true;
  }

  // False while held; else the order begins (idle() turns false).
  bool BeginOrder() {
    absl::MutexLock lock(&hold_mu_);
    if (held_) return false;
    in_order_ = true;
    return true;
  }
  void EndOrder() {
    absl::MutexLock lock(&hold_mu_);
    in_order_ = false;
  }

  void Place(ClientOrder& o) {
    v1::PlaceOrderRequest req;
    req.set_strategy_id(o.strategy);
    req.set_symbol("BTC-USDT");
    req.set_side(o.side);
    req.set_type(v1::ORDER_TYPE_MARKET);
    req.mutable_quantity()->set_value(o.quantity);
    req.set_client_order_id(o.client_order_id);
    int target = home_;
    int follows_in_a_row = 0;
    while (!abort_) {
      std::shared_ptr<v1::ExchangeControl::Stub> stub = nodes_->Get(target);
      if (!stub) {  // down (killed, not restarted yet)
        target = (target + 1) % nodes_->size();
        absl::SleepFor(absl::Milliseconds(50));
        continue;
      }
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
      v1::PlaceOrderResponse resp;
      const absl::Time sent = absl::Now();
      grpc::Status st = stub->PlaceOrder(&ctx, req, &resp);
      ++o.attempts;
      log_ << absl::FormatTime("%H:%M:%E3S", sent, absl::UTCTimeZone()) << " "
           << o.client_order_id << " " << o.strategy << " " << v1::Side_Name(o.side) << " "
           << o.quantity << " node" << target << " -> " << st.error_code() << " "
           << (st.ok() ? absl::StrCat("order ", resp.order().id(),
                                      resp.replayed() ? " replayed" : "")
                       : st.error_message())
           << "\n";
      if (st.ok()) {
        o.acked = true;
        o.acked_by = target;
        o.replayed = resp.replayed();
        return;
      }
      if (auto named = OwnerNamed(st.error_message()); named && *named < nodes_->size()) {
        ++follows_;
        target = *named;  // retry there at once, but do not spin between two
        if (++follows_in_a_row > 3) absl::SleepFor(absl::Milliseconds(50));
        continue;
      }
      follows_in_a_row = 0;
      if (!Retryable(st.error_code())) {
        o.refused = absl::StrCat(st.error_code(), " ", st.error_message());
        return;
      }
      if (!absl::StrContains(st.error_message(), "strategy " + o.strategy) &&
          !absl::StrContains(st.error_message(), "strategy:" + o.strategy)) {
        // Not an answer about the strategy (the process is gone or paused):
        // another instance.
        target = (target + 1) % nodes_->size();
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
  }

  const int id_;
  const int home_;
  const std::vector<std::string> strategies_;
  NodeDirectory* const nodes_;
  std::mt19937_64 rng_;
  std::ofstream log_;
  const int pause_ms_min_;
  const int pause_ms_max_;
  std::thread thread_;
  std::atomic<bool> stop_new_{false};
  std::atomic<bool> abort_{false};
  std::atomic<int> done_{0};
  std::atomic<int> acked_{0};
  std::atomic<int> follows_{0};
  std::atomic<bool> finished_{false};
  mutable absl::Mutex hold_mu_;
  bool held_ ABSL_GUARDED_BY(hold_mu_) = false;
  bool in_order_ ABSL_GUARDED_BY(hold_mu_) = false;
  std::vector<ClientOrder> orders_;  // written by the thread, read after Join()
};

}  // namespace xctl::testing
