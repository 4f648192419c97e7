// Any instance accepts any call (issue #18, item 2; docs/cluster.md,
// "Forwarding"): three real xctld processes with --cluster on one
// nats-server and one PostgreSQL database (XCTL_TEST_PG_URL; skipped without
// it unless XCTL_REQUIRE_PG=1), auth tokens on, prices from the fake BloFin.
// A client connected only to an instance that does not own a strategy
// trades it and gets the answer the owner gives (the same order, replayed
// on the owner with the same client order id), the order is stored once;
// the caller's token is what the owner checks (a token scoped to another
// strategy is refused); a tiny deadline ends in DEADLINE_EXCEEDED and a
// retry with the same client order id stores one order; Stop/StartStrategy
// through a non-owner act on the owner; a call that arrives with the
// forwarding marker is not forwarded again (FORWARDED_TO_NON_OWNER naming
// the owner); a TradingView signal sent to a non-owner is checked against
// its secret there and trades on the owner. The retry after an ownership change is covered with real
// sockets in tests/api/forwarder_test.cc.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/api/status.h"
#include "tests/server/cluster_fixture.h"
#include "tests/server/metrics_scrape.h"
#include "xctl/v1/exchange_control.grpc.pb.h"
#include "xctl/v1/strategy_manager.grpc.pb.h"

namespace xctl {
namespace {

using ::xctl::testing::ClusterFixture;

constexpr int kNodes = 3;
constexpr int kStrategies = 3;
constexpr char kAdmin[] = "Bearer admin-token-fw1";
constexpr char kBot[] = "Bearer bot-token-fw1";  // scope strategy:f0

std::string Sid(int i) { return absl::StrCat("f", i); }

enum class Route { kAny, kHereOnly };

void Prepare(grpc::ClientContext& c, const char* token, Route route,
             absl::Duration deadline = absl::Seconds(10)) {
  c.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(deadline));
  c.AddMetadata("authorization", token);
  if (route == Route::kHereOnly) c.AddMetadata("x-xctl-forwarded-by", "client");
}

v1::PlaceOrderRequest Market(const std::string& strategy, const std::string& coid) {
  v1::PlaceOrderRequest req;
  req.set_strategy_id(strategy);
  req.set_symbol("BTC-USDT");
  req.set_side(v1::SIDE_BUY);
  req.set_type(v1::ORDER_TYPE_MARKET);
  req.mutable_quantity()->set_value("2");
  req.set_client_order_id(coid);
  return req;
}

class ClusterForwardE2e : public ClusterFixture {
 protected:
  void SetUp() override {
    std::string config = absl::StrCat(
        "auth:\n  tokens:\n"
        "    - {name: admin, scope: admin, sha256: "
        "b070ebdf341d9a3c3ae115f584891d0c4a207b4b0629e97e5cdc89d7ef03652a}\n"
        "    - {name: bot, scope: \"strategy:f0\", sha256: "
        "e71fd89adac7e9dc667ed50ec3cbe44688ae819827f121ea34f75e308f0814c6}\n"
        "metrics: {listen: \"127.0.0.1:0\"}\n"
        "cluster: {strategy_lease_ttl_ms: 1500}\nstrategies:\n");
    for (int i = 0; i < kStrategies; ++i) {
      absl::StrAppend(&config, "  - {id: ", Sid(i),
                      ", type: external, pairs: [BTC-USDT], leverage: \"10\"}\n");
    }
    ASSERT_NO_FATAL_FAILURE(StartCluster(kNodes, "forward", config, 200));
    for (auto& n : nodes_) {
      control_.push_back(v1::ExchangeControl::NewStub(n->channel()));
      manager_.push_back(v1::StrategyManager::NewStub(n->channel()));
    }
  }

  grpc::Status Balance(int node, const std::string& id, Route route) {
    grpc::ClientContext c;
    Prepare(c, kAdmin, route);
    v1::GetBalanceRequest req;
    req.set_strategy_id(id);
    v1::GetBalanceResponse resp;
    return control_[node]->GetBalance(&c, req, &resp);
  }

  // strategy -> owner, once each has exactly one owner, one per node, and
  // every node forwards a GetBalance of every strategy (each knows every
  // member's address); empty after a minute.
  std::map<std::string, int> SettledOwners() {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline) {
      std::map<std::string, int> owner;
      std::set<int> used;
      bool ok = true;
      for (int s = 0; s < kStrategies && ok; ++s) {
        int owners = 0;
        for (int n = 0; n < kNodes; ++n) {
          if (Balance(n, Sid(s), Route::kHereOnly).ok()) {
            ++owners;
            owner[Sid(s)] = n;
            used.insert(n);
          }
          ok = ok && Balance(n, Sid(s), Route::kAny).ok();
        }
        ok = ok && owners == 1;
      }
      if (ok && used.size() == kNodes) return owner;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return {};
  }

  // Orders of `strategy` with client order id `coid` stored (read on `node`).
  int Stored(int node, const std::string& strategy, const std::string& coid) {
    grpc::ClientContext c;
    Prepare(c, kAdmin, Route::kAny);
    v1::ListOrdersRequest req;
    req.set_strategy_id(strategy);
    req.set_page_size(1000);
    v1::ListOrdersResponse resp;
    grpc::Status st = control_[node]->ListOrders(&c, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    int n = 0;
    for (const v1::Order& o : resp.orders()) n += o.client_order_id() == coid;
    return n;
  }

  std::vector<std::unique_ptr<v1::ExchangeControl::Stub>> control_;
  std::vector<std::unique_ptr<v1::StrategyManager::Stub>> manager_;
};

TEST_F(ClusterForwardE2e, ANonOwnerAnswersEveryCallAsTheOwnerWould) {
  std::map<std::string, int> owner = SettledOwners();
  ASSERT_EQ(owner.size(), static_cast<size_t>(kStrategies))
      << "placement never settled at one per node, or addresses never known";
  const std::string id = Sid(0);
  const int own = owner[id];
  const int other = (own + 1) % kNodes;
  std::printf("%s runs on node%d; the client talks to node%d\n", id.c_str(), own, other);

  // 1. An order through the non-owner, with the bot's token (scoped to f0:
  // the owner checks the caller's own token).
  const v1::PlaceOrderRequest order = Market(id, "fwd1");
  v1::PlaceOrderResponse via_other;
  {
    grpc::ClientContext c;
    Prepare(c, kBot, Route::kAny);
    const absl::Time start = absl::Now();
    grpc::Status st = control_[other]->PlaceOrder(&c, order, &via_other);
    ASSERT_TRUE(st.ok()) << st.error_message();
    std::printf("forwarded PlaceOrder: %.1f ms\n", absl::ToDoubleMilliseconds(absl::Now() - start));
  }
  EXPECT_EQ(via_other.order().strategy_id(), id);
  EXPECT_EQ(via_other.order().status(), v1::ORDER_STATUS_FILLED);
  EXPECT_FALSE(via_other.replayed());
  ASSERT_GT(via_other.fills_size(), 0);
  // The owner's answer to the same request: the same order, replayed.
  v1::PlaceOrderResponse via_owner;
  {
    grpc::ClientContext c;
    Prepare(c, kBot, Route::kHereOnly);
    grpc::Status st = control_[own]->PlaceOrder(&c, order, &via_owner);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  EXPECT_TRUE(via_owner.replayed());
  EXPECT_EQ(via_owner.order().id(), via_other.order().id());
  EXPECT_EQ(via_owner.order().filled_quantity().value(), via_other.order().filled_quantity().value());
  EXPECT_EQ(via_owner.order().average_price().value(), via_other.order().average_price().value());
  // Through the third instance too, and stored exactly once.
  v1::PlaceOrderResponse via_third;
  {
    grpc::ClientContext c;
    Prepare(c, kBot, Route::kAny);
    ASSERT_TRUE(control_[(own + 2) % kNodes]->PlaceOrder(&c, order, &via_third).ok());
  }
  EXPECT_TRUE(via_third.replayed());
  EXPECT_EQ(via_third.order().id(), via_other.order().id());
  EXPECT_EQ(Stored(other, id, "fwd1"), 1);

  // The hop's cost: GetBalance answered by the owner itself, and through
  // the non-owner (forwarded on its cached channel), 200 each, in turns.
  {
    std::vector<double> local_ms, forwarded_ms;
    for (int i = 0; i < 200; ++i) {
      for (const int node : {own, other}) {
        const absl::Time start = absl::Now();
        grpc::Status st = Balance(node, id, Route::kAny);
        ASSERT_TRUE(st.ok()) << st.error_message();
        (node == own ? local_ms : forwarded_ms)
            .push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
      }
    }
    std::sort(local_ms.begin(), local_ms.end());
    std::sort(forwarded_ms.begin(), forwarded_ms.end());
    std::printf("GetBalance on the owner p50 %.2f ms p99 %.2f ms; through a non-owner p50 %.2f ms "
                "p99 %.2f ms (200 each)\n",
                local_ms[100], local_ms[198], forwarded_ms[100], forwarded_ms[198]);
    RecordProperty("forwarded_p50_us", static_cast<int>(forwarded_ms[100] * 1000));
    RecordProperty("local_p50_us", static_cast<int>(local_ms[100] * 1000));
  }

  // 2. The caller's token, not the forwarding instance's: the bot may not
  // trade f1, wherever f1 runs.
  {
    grpc::ClientContext c;
    Prepare(c, kBot, Route::kAny);
    v1::PlaceOrderResponse resp;
    const int not_f1 = (owner[Sid(1)] + 1) % kNodes;
    grpc::Status st = control_[not_f1]->PlaceOrder(&c, Market(Sid(1), "bot1"), &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
  }

  // 3. A tiny deadline: DEADLINE_EXCEEDED; the retry with the same client
  // order id stores one order.
  {
    grpc::ClientContext c;
    Prepare(c, kBot, Route::kAny, absl::Milliseconds(1));
    v1::PlaceOrderResponse resp;
    grpc::Status st = control_[other]->PlaceOrder(&c, Market(id, "tiny1"), &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << st.error_message();
    grpc::ClientContext retry;
    Prepare(retry, kBot, Route::kAny);
    st = control_[other]->PlaceOrder(&retry, Market(id, "tiny1"), &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(Stored(own, id, "tiny1"), 1);
  }

  // 4. Strategy calls through the non-owner act on the owner.
  {
    grpc::ClientContext c;
    Prepare(c, kAdmin, Route::kAny);
    v1::StopStrategyRequest req;
    req.set_id(id);
    v1::StopStrategyResponse resp;
    grpc::Status st = manager_[other]->StopStrategy(&c, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(resp.strategy().status(), v1::STRATEGY_STATUS_STOPPED);
  }
  {
    grpc::ClientContext c;
    Prepare(c, kBot, Route::kAny);
    v1::PlaceOrderResponse resp;
    grpc::Status st = control_[other]->PlaceOrder(&c, Market(id, "stopped1"), &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << st.error_message();
    ASSERT_TRUE(api::XctlErrorOf(st).has_value());
    EXPECT_EQ(api::XctlErrorOf(st)->reason, "STRATEGY_NOT_RUNNING");
  }
  {
    grpc::ClientContext c;
    Prepare(c, kAdmin, Route::kAny);
    v1::StartStrategyRequest req;
    req.set_id(id);
    v1::StartStrategyResponse resp;
    grpc::Status st = manager_[other]->StartStrategy(&c, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(resp.strategy().status(), v1::STRATEGY_STATUS_RUNNING);
  }
  // The position closes through the non-owner, too.
  {
    grpc::ClientContext c;
    Prepare(c, kBot, Route::kAny);
    v1::ClosePositionRequest req;
    req.set_strategy_id(id);
    req.set_symbol("BTC-USDT");
    v1::ClosePositionResponse resp;
    grpc::Status st = control_[other]->ClosePosition(&c, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_GT(resp.closed_positions_size(), 0);
  }

  // 5. A call that arrives already forwarded is not forwarded again.
  {
    grpc::ClientContext c;
    Prepare(c, kBot, Route::kHereOnly);
    v1::PlaceOrderResponse resp;
    grpc::Status st = control_[other]->PlaceOrder(&c, Market(id, "loop1"), &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
    ASSERT_TRUE(api::XctlErrorOf(st).has_value());
    EXPECT_EQ(api::XctlErrorOf(st)->reason, "FORWARDED_TO_NON_OWNER");
    EXPECT_EQ(api::XctlErrorOf(st)->owner, absl::StrCat("node", own));
    EXPECT_EQ(Stored(own, id, "loop1"), 0);
  }
  // The non-owner's /metrics count what it forwarded and refused.
  {
    const int port = xctl::testing::MetricsPort(*nodes_[other]);
    ASSERT_GT(port, 0);
    const std::string page = xctl::testing::Scrape(port);
    EXPECT_GE(xctl::testing::Value(page, "xctl_cluster_forwarded_calls_total{event=\"forwarded\"}"),
              200)
        << page;
    EXPECT_GE(
        xctl::testing::Value(page, "xctl_cluster_forwarded_calls_total{event=\"loop_refused\"}"), 1);
    EXPECT_EQ(xctl::testing::Value(page, "xctl_cluster_forwarded_calls_total{event=\"retried\"}"),
              0);
  }

  // 6. A TradingView signal (authenticated by its secret, no token) through
  // a non-owner: the secret is checked where it arrives, then the signal
  // trades on the owner.
  {
    grpc::ClientContext c;
    Prepare(c, kAdmin, Route::kAny);
    v1::CreateStrategyRequest req;
    req.mutable_strategy()->set_id("tv1");
    req.mutable_strategy()->set_type("tradingview");
    req.mutable_strategy()->add_pairs("BTC-USDT");
    req.set_signal_secret("tv-secret-1");
    req.set_start(true);
    v1::CreateStrategyResponse resp;
    grpc::Status st = manager_[0]->CreateStrategy(&c, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  int tv_owner = -1;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (tv_owner < 0 && absl::Now() < deadline) {
    for (int n = 0; n < kNodes && tv_owner < 0; ++n) {
      if (Balance(n, "tv1", Route::kHereOnly).ok()) tv_owner = n;
    }
    if (tv_owner < 0) absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_GE(tv_owner, 0) << "tv1 never got an owner";
  const int tv_other = (tv_owner + 1) % kNodes;
  // The non-owner learns of the new strategy at its next round (until then
  // it knows no secret for it and asks for a token, as for any unknown id).
  ASSERT_TRUE([&] {
    for (const absl::Time until = absl::Now() + absl::Seconds(10); absl::Now() < until;
         absl::SleepFor(absl::Milliseconds(50))) {
      grpc::ClientContext c;
      Prepare(c, kAdmin, Route::kHereOnly);
      v1::GetStrategyRequest req;
      req.set_id("tv1");
      v1::GetStrategyResponse resp;
      if (manager_[tv_other]->GetStrategy(&c, req, &resp).ok()) return true;
    }
    return false;
  }()) << "node" << tv_other << " never learned of tv1";
  auto signal = [&](int node, const std::string& secret, v1::SubmitSignalResponse* resp) {
    grpc::ClientContext c;
    c.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::SubmitSignalRequest req;
    req.set_strategy_id("tv1");
    req.set_action("buy");
    req.set_symbol("BTC-USDT");
    req.set_quantity("1");
    req.set_secret(secret);
    req.set_client_order_id("tvsig1");
    return manager_[node]->SubmitSignal(&c, req, resp);
  };
  v1::SubmitSignalResponse wrong;
  EXPECT_EQ(signal(tv_other, "not-the-secret", &wrong).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::SubmitSignalResponse forwarded;
  grpc::Status st = signal(tv_other, "tv-secret-1", &forwarded);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_FALSE(forwarded.replayed());
  EXPECT_EQ(forwarded.order().status(), v1::ORDER_STATUS_FILLED);
  v1::SubmitSignalResponse on_owner;
  ASSERT_TRUE(signal(tv_owner, "tv-secret-1", &on_owner).ok());
  EXPECT_TRUE(on_owner.replayed());
  EXPECT_EQ(on_owner.order().id(), forwarded.order().id());
  EXPECT_EQ(Stored(tv_other, "tv1", "tvsig1"), 1);
}

}  // namespace
}  // namespace xctl
