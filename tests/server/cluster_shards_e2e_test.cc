// Strategy sharding end to end (issue #8): three real xctld processes with
// --cluster on one nats-server and one PostgreSQL database (XCTL_TEST_PG_URL;
// skipped without it unless XCTL_REQUIRE_PG=1), four `external` strategies
// in the config. Clients find each strategy's owner by asking (a non-owner
// answers UNAVAILABLE naming it), place orders with client order ids on the
// owner, and keep going while the owner of the most strategies is killed
// with SIGKILL, or paused with SIGSTOP past its leases and resumed with
// SIGCONT once the others trade its strategies (issue #18: fencing): an
// order without an answer is retried with the same client order id on
// whoever owns the strategy next. At the end every acknowledged order is
// stored exactly once, no client order id twice, the open positions equal
// what the stored fills add up to, and the paused owner, resumed, neither
// acknowledges the orders it was sent while paused nor shows a position of
// the strategies it lost (docs/cluster.md, "Fencing").
#include <signal.h>

#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
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
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/decimal.h"
#include "tests/server/metrics_scrape.h"
#include "tests/server/running_xctld.h"
#include "tests/server/stored_orders.h"
#include "tests/support/nats_server.h"
#include "tests/support/test_databases.h"
#include "xctl/v1/exchange_control.grpc.pb.h"

namespace xctl {
namespace {

using ::testing::HasSubstr;
using ::xctl::testing::AddOpenRow;
using ::xctl::testing::ExpectOpenEqualsNet;
using ::xctl::testing::MakeTempDir;
using ::xctl::testing::NatsServer;
using ::xctl::testing::RunningXctld;
using ::xctl::testing::NetByStrategySymbol;
using ::xctl::testing::ReadStoredOrders;
using ::xctl::testing::StoredOrders;
using ::xctl::testing::TestDatabase;

Decimal D(const std::string& s) { return Decimal::Parse(s).value(); }

constexpr int kNodes = 3;
constexpr int kStrategies = 4;
constexpr int kOrdersPerStrategy = 60;
constexpr int kStrategyTtlMs = 1500;  // rounds every 500 ms

std::string Sid(int i) { return absl::StrCat("c", i); }

// "... runs on instance node2 (lease epoch 3) ..." -> 2; nullopt otherwise.
std::optional<int> OwnerNamed(const std::string& message) {
  const std::string kRuns = "runs on instance node";
  size_t at = message.find(kRuns);
  if (at == std::string::npos) return std::nullopt;
  int node = 0;
  if (!absl::SimpleAtoi(message.substr(at + kRuns.size(), 1), &node)) return std::nullopt;
  return node;
}

// These clients route themselves (they follow the owner named in
// UNAVAILABLE answers): the forwarding marker makes an instance answer for
// itself only, never forward (docs/cluster.md, "Forwarding"), so the test
// sees what each instance says, as before forwarding existed.
void RouteMyself(grpc::ClientContext& ctx) { ctx.AddMetadata("x-xctl-forwarded-by", "client"); }

v1::PlaceOrderRequest MarketOrder(const std::string& strategy, v1::Side side,
                                  const std::string& quantity, const std::string& coid) {
  v1::PlaceOrderRequest req;
  req.set_strategy_id(strategy);
  req.set_symbol("BTC-USDT");
  req.set_side(side);
  req.set_type(v1::ORDER_TYPE_MARKET);
  req.mutable_quantity()->set_value(quantity);
  req.set_client_order_id(coid);
  return req;
}

class ClusterShardsE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::make_unique<TestDatabase>("postgresql");
    XCTL_REQUIRE_DATABASE(*db_);
    auto nats = NatsServer::Start();
    ASSERT_TRUE(nats.ok()) << nats.status();
    nats_ = *std::move(nats);
    for (int i = 0; i < kNodes; ++i) {
      const std::string dir = MakeTempDir(absl::StrCat("shards", i));
      {
        std::ofstream out(dir + "/xctl.yaml");
        out << "key_file: " << dir << "/xctl.key\n"
            << "price: {source: simulated, pairs: [BTC-USDT], interval_ms: 100}\n"
            << "cluster: {strategy_lease_ttl_ms: " << kStrategyTtlMs << "}\n"
            << "strategies:\n";
        for (int s = 0; s < kStrategies; ++s) {
          out << "  - {id: " << Sid(s) << ", type: external, pairs: [BTC-USDT], leverage: \"10\"}\n";
        }
      }
      nodes_.push_back(std::make_unique<RunningXctld>(
          std::vector<std::string>{"--config=" + dir + "/xctl.yaml", "--db=" + db_->url(),
                                   "--cluster=" + nats_->url(),
                                   absl::StrCat("--node-id=node", i),
                                   "--metrics-listen=127.0.0.1:0"},
          dir));
      ASSERT_TRUE(nodes_.back()->ok()) << nodes_.back()->process().Stderr();
      stubs_.push_back(v1::ExchangeControl::NewStub(nodes_.back()->channel()));
    }
  }

  void TearDown() override {
    for (auto& n : nodes_) {
      if (n && n->ok() && !n->process().Wait(absl::ZeroDuration()).has_value()) {
        n->process().Signal(SIGCONT);  // a paused one, if a test stopped early
        n->Stop();
      }
    }
  }

  // GetBalance on `node`: OK on the owner, UNAVAILABLE naming it elsewhere.
  grpc::Status Balance(int node, const std::string& strategy) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    RouteMyself(ctx);
    v1::GetBalanceRequest req;
    req.set_strategy_id(strategy);
    v1::GetBalanceResponse resp;
    return stubs_[node]->GetBalance(&ctx, req, &resp);
  }

  // strategy -> the node where GetBalance answers OK, once every strategy
  // has exactly one (and, with `balanced`, no node more than 2); empty after
  // a minute without.
  std::map<std::string, int> Owners(bool balanced, std::set<int> skip = {}) {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline) {
      std::map<std::string, int> owner;
      std::map<int, int> count;
      bool all = true;
      for (int s = 0; s < kStrategies && all; ++s) {
        int owners = 0;
        for (int n = 0; n < kNodes; ++n) {
          if (skip.contains(n) || !Balance(n, Sid(s)).ok()) continue;
          ++owners;
          owner[Sid(s)] = n;
          ++count[n];
        }
        all = owners == 1;
      }
      bool even = true;
      for (const auto& [n, c] : count) even = even && c <= 2;
      if (all && (!balanced || even)) return owner;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return {};
  }

  // Each node's /metrics (docs/operations.md, "Monitoring") agrees with the
  // placement: the strategies owned add up, one price leader, NATS up; and
  // every cluster metric the Grafana dashboard queries is served.
  void ExpectClusterMetrics(const std::map<std::string, int>& owner) {
    int leaders = 0;
    double owned = 0;
    for (int n = 0; n < kNodes; ++n) {
      const int port = xctl::testing::MetricsPort(*nodes_[n]);
      ASSERT_GT(port, 0);
      // The members gauge is what the node's last round counted: a node that
      // rounded before the last one joined still says 2 although the
      // placement already looks even (ceil(4/2) = 2 too), so wait for its
      // next round (at most ttl/3 later; the wait is bounded).
      std::string page = xctl::testing::Scrape(port);
      const absl::Time round_deadline = absl::Now() + absl::Seconds(10);
      while (xctl::testing::Value(page, "xctl_cluster_members") != kNodes &&
             absl::Now() < round_deadline) {
        absl::SleepFor(absl::Milliseconds(50));
        page = xctl::testing::Scrape(port);
      }
      EXPECT_EQ(xctl::testing::Value(page, "xctl_cluster_nats_connected"), 1) << page;
      owned += xctl::testing::Value(page, "xctl_cluster_strategies_owned");
      EXPECT_EQ(xctl::testing::Value(page, "xctl_cluster_members"), kNodes);
      const double leader = xctl::testing::Value(page, "xctl_cluster_price_leader");
      leaders += leader == 1 ? 1 : 0;
      if (leader == 1) EXPECT_GT(xctl::testing::Value(page, "xctl_cluster_price_leader_epoch"), 0);
      for (const std::string& name : xctl::testing::DashboardMetrics("xctl_cluster_")) {
        EXPECT_THAT(page, HasSubstr("# TYPE " + name + " ")) << name;
      }
    }
    EXPECT_EQ(leaders, 1);
    EXPECT_EQ(owned, static_cast<double>(owner.size()));
  }

  // The body of both tests: the owner of the most strategies fails with
  // `signal` (SIGKILL, or SIGSTOP and later SIGCONT) under order load.
  void OwnerFailsUnderLoad(int signal);

  // SIGSTOP: orders for its strategies sent to the paused `victim` (a client
  // that still takes it for the owner) wait in its socket; once `taken_over`
  // (the others acknowledge orders of every one of its strategies) it is
  // resumed and may serve clients again (`dead`). Those orders must not be
  // acknowledged under its old tenure: one acknowledged is only right when
  // the resumed instance owns the strategy again (a new tenure, after
  // balancing); acknowledged ones go into `acked` (guarded by `mu`) for the
  // final checks.
  template <typename F>
  void PausedOwnerAcksNothing(int victim, const std::set<std::string>& strategies,
                              F taken_over, absl::Mutex& mu,
                              std::map<std::string, std::string>& acked, std::set<int>& dead) {
    std::vector<std::thread> stale;
    std::atomic<int> stale_answered{0};
    std::map<std::string, std::string> stale_acked;  // strategy/coid -> side+qty, under mu
    int n = 0;
    for (const std::string& id : strategies) {
      stale.emplace_back([&, id, k = n++] {
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
        RouteMyself(ctx);
        const v1::PlaceOrderRequest req =
            MarketOrder(id, v1::SIDE_BUY, "1", absl::StrCat("paused", k));
        v1::PlaceOrderResponse resp;
        grpc::Status st = stubs_[victim]->PlaceOrder(&ctx, req, &resp);
        ++stale_answered;
        if (!st.ok()) return;
        absl::MutexLock lock(&mu);
        stale_acked[id + "/" + req.client_order_id()] =
            absl::StrCat(req.side(), "x", req.quantity().value());
      });
    }
    const absl::Time limit = absl::Now() + absl::Seconds(60);
    while (absl::Now() < limit && !taken_over()) absl::SleepFor(absl::Milliseconds(20));
    EXPECT_TRUE(taken_over()) << "its strategies were not taken over within a minute";
    EXPECT_EQ(stale_answered.load(), 0) << "a paused process answered";
    nodes_[victim]->process().Signal(SIGCONT);
    for (auto& t : stale) t.join();
    absl::MutexLock lock(&mu);
    dead.erase(victim);
    for (const auto& [key, what] : stale_acked) {
      const std::string id = key.substr(0, key.find('/'));
      mu.Unlock();
      const bool owns_again = Balance(victim, id).ok();
      mu.Lock();
      EXPECT_TRUE(owns_again) << "the resumed instance acknowledged " << key
                              << " although another instance owns " << id;
      acked[key] = what;
    }
    ::testing::Test::RecordProperty("paused_orders_acknowledged_in_a_new_tenure",
                                    static_cast<int>(stale_acked.size()));
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<NatsServer> nats_;
  std::vector<std::unique_ptr<RunningXctld>> nodes_;
  std::vector<std::unique_ptr<v1::ExchangeControl::Stub>> stubs_;
};

TEST_F(ClusterShardsE2e, KillingTheOwnerLosesAndDuplicatesNoAcknowledgedOrder) {
  OwnerFailsUnderLoad(SIGKILL);
}

TEST_F(ClusterShardsE2e, PausingTheOwnerPastItsLeasesLetsItWriteNothingAfterTheTakeover) {
  OwnerFailsUnderLoad(SIGSTOP);
}

void ClusterShardsE2e::OwnerFailsUnderLoad(int signal) {
  // Every strategy gets exactly one owner, and the shares even out (at most
  // ceil(4 / 3) = 2 each; the first instance up takes all, then gives back
  // one per round as the others join).
  std::map<std::string, int> owner = Owners(/*balanced=*/true);
  ASSERT_EQ(owner.size(), static_cast<size_t>(kStrategies))
      << "not every strategy found exactly one owner, balanced";
  ExpectClusterMetrics(owner);
  for (int s = 0; s < kStrategies; ++s) {
    for (int n = 0; n < kNodes; ++n) {
      if (n == owner[Sid(s)]) continue;
      grpc::Status st = Balance(n, Sid(s));
      if (st.ok()) continue;  // it moved meanwhile (balancing); fine
      EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
      EXPECT_THAT(st.error_message(), HasSubstr("runs on instance node")) << st.error_message();
      EXPECT_THAT(st.error_message(), HasSubstr("(lease epoch ")) << st.error_message();
    }
  }

  // Clients: one per strategy, orders in sequence, each retried with its
  // client order id until acknowledged. Each starts on a node that does not
  // own its strategy, so the first order always follows the owner named in
  // the UNAVAILABLE answer: whether a client meets a non-owner later depends
  // on which survivor takes which strategy (the SIGSTOP case once failed
  // under load because both of the victim's strategies went to the node its
  // clients tried next, so no answer named an owner; issue #18).
  absl::Mutex mu;
  std::map<std::string, std::string> acked;  // strategy/client order id -> side+qty
  std::set<int> dead;
  std::atomic<int> total_acked{0};
  std::atomic<bool> give_up{false};
  std::atomic<int64_t> killed_at_ms{0};
  std::atomic<int> failed_node{-1};  // its answers after the failure were sent before it
  std::map<std::string, int64_t> first_ack_after_kill;  // strategy -> ms after the kill
  std::atomic<int> named_owner_answers{0};
  std::vector<std::thread> clients;
  for (int s = 0; s < kStrategies; ++s) {
    clients.emplace_back([&, s] {
      const std::string id = Sid(s);
      int target;
      {
        absl::MutexLock lock(&mu);
        target = (owner[id] + 1) % kNodes;
      }
      for (int i = 0; i < kOrdersPerStrategy && !give_up; ++i) {
        const v1::PlaceOrderRequest req =
            MarketOrder(id, i % 2 == 0 ? v1::SIDE_BUY : v1::SIDE_SELL, i % 3 == 0 ? "2" : "1",
                        absl::StrCat("k", s, "n", i));
        while (!give_up) {
          {
            absl::MutexLock lock(&mu);
            if (dead.contains(target)) target = (target + 1) % kNodes;
          }
          grpc::ClientContext ctx;
          ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
          RouteMyself(ctx);
          v1::PlaceOrderResponse resp;
          grpc::Status st = stubs_[target]->PlaceOrder(&ctx, req, &resp);
          if (st.ok()) {
            absl::MutexLock lock(&mu);
            acked[id + "/" + req.client_order_id()] = absl::StrCat(req.side(), "x",
                                                                   req.quantity().value());
            const int64_t k = killed_at_ms.load();
            if (k > 0 && target != failed_node && !first_ack_after_kill.contains(id)) {
              first_ack_after_kill[id] = absl::ToUnixMillis(absl::Now()) - k;
            }
            ++total_acked;
            break;
          }
          if (st.error_code() == grpc::StatusCode::FAILED_PRECONDITION &&
              absl::StrContains(st.error_message(), "price")) {
            // The price leader may have died too: prices are stale until
            // another instance leads. Nothing was traded; retry.
            absl::SleepFor(absl::Milliseconds(100));
            continue;
          }
          ASSERT_TRUE(st.error_code() == grpc::StatusCode::UNAVAILABLE ||
                      st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)
              << id << " " << req.client_order_id() << ": " << st.error_message();
          if (auto named = OwnerNamed(st.error_message())) {
            ++named_owner_answers;
            target = *named;  // retry there at once
            continue;
          }
          if (!absl::StrContains(st.error_message(), "strategy " + id)) {
            // Not an answer of xctld (the process is gone): another node.
            target = (target + 1) % kNodes;
          }
          absl::SleepFor(absl::Milliseconds(50));  // no live owner yet: retry
        }
      }
    });
  }

  // Kill the owner of the most strategies once orders flow.
  ASSERT_TRUE([&] {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline && total_acked < 8 * kStrategies) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    return total_acked >= 8 * kStrategies;
  }()) << "orders do not flow: " << total_acked;
  // Who owns what right now (orders flow meanwhile).
  owner = Owners(/*balanced=*/false);
  ASSERT_EQ(owner.size(), static_cast<size_t>(kStrategies));
  std::map<int, int> owned_by;
  for (const auto& [id, n] : owner) ++owned_by[n];
  int victim = owned_by.begin()->first;
  for (const auto& [n, count] : owned_by) {
    if (count > owned_by[victim]) victim = n;
  }
  std::set<std::string> victims_strategies;
  for (const auto& [id, n] : owner) {
    if (n == victim) victims_strategies.insert(id);
  }
  {
    absl::MutexLock lock(&mu);
    dead.insert(victim);
  }
  failed_node = victim;
  killed_at_ms = absl::ToUnixMillis(absl::Now());
  nodes_[victim]->process().Signal(signal);
  if (signal == SIGKILL) {
    ASSERT_TRUE(nodes_[victim]->process().Wait(absl::Seconds(10)).has_value());
  } else {
    PausedOwnerAcksNothing(
        victim, victims_strategies,
        [&] {
          absl::MutexLock lock(&mu);
          for (const std::string& id : victims_strategies) {
            if (!first_ack_after_kill.contains(id)) return false;
          }
          return true;
        },
        mu, acked, dead);
  }

  // Everyone finishes (generous: a takeover takes about 5/3 x ttl = 2.5 s).
  const absl::Time deadline = absl::Now() + absl::Seconds(120);
  while (absl::Now() < deadline && total_acked < kStrategies * kOrdersPerStrategy) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  give_up = true;
  for (auto& c : clients) c.join();
  ASSERT_EQ(total_acked.load(), kStrategies * kOrdersPerStrategy)
      << "clients could not place every order within 2 minutes";
  int64_t worst = 0;
  for (const std::string& id : victims_strategies) {
    ASSERT_TRUE(first_ack_after_kill.contains(id)) << id;
    worst = std::max(worst, first_ack_after_kill[id]);
    std::cerr << "strategy " << id << " trading again " << first_ack_after_kill[id]
              << " ms after " << (signal == SIGKILL ? "SIGKILL" : "SIGSTOP") << " of node"
              << victim << "\n";
  }
  ::testing::Test::RecordProperty("takeover_ms", static_cast<int>(worst));
  ::testing::Test::RecordProperty("victim_strategies",
                                  static_cast<int>(victims_strategies.size()));
  EXPECT_GE(named_owner_answers.load(), kStrategies) << "a non-owner did not name the owner";

  // Every stored order: exactly once per client order id, every
  // acknowledged one present and filled as asked.
  int survivor = (victim + 1) % kNodes;
  StoredOrders stored;
  ReadStoredOrders(*stubs_[survivor], &stored);
  if (HasFatalFailure()) return;
  const auto& orders = stored.by_key;
  EXPECT_EQ(orders.size(), acked.size()) << "an order was stored that nobody acknowledged";
  for (const auto& [key, what] : acked) {
    auto it = orders.find(key);
    ASSERT_NE(it, orders.end()) << "acknowledged order " << key << " was lost";
    EXPECT_EQ(absl::StrCat(it->second.side(), "x", it->second.quantity().value()), what) << key;
  }

  // Open positions (each survivor shows those of the strategies it runs)
  // equal the net of the stored fills.
  std::map<std::string, v1::Position> open_rows;
  for (int n = 0; n < kNodes; ++n) {
    if (n == victim && signal == SIGKILL) continue;  // a resumed one must show none of them
    grpc::ClientContext ctx;
    v1::ListPositionsRequest req;
    req.set_status(v1::POSITION_STATUS_OPEN);
    req.set_page_size(1000);
    v1::ListPositionsResponse resp;
    grpc::Status st = stubs_[n]->ListPositions(&ctx, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    for (const v1::Position& p : resp.positions()) {
      auto [it, fresh] = open_rows.emplace(p.id(), p);
      EXPECT_TRUE(fresh) << "position #" << p.id() << " open on two instances";
    }
  }
  NetByStrategySymbol open;
  for (const auto& [row_id, p] : open_rows) AddOpenRow(p, &open);
  ExpectOpenEqualsNet(open, stored.net);
  ::testing::Test::RecordProperty("acknowledged_orders", static_cast<int>(acked.size()));
}

}  // namespace
}  // namespace xctl
