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
// its secret there and trades on the owner. And the retry after an
// ownership change during the call (ClusterForwardRetryE2e below).
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
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/api/status.h"
#include "server/common/error_reason.h"
#include "tests/server/cluster_fixture.h"
#include "tests/server/metrics_scrape.h"
#include "tests/support/pg_activity.h"
#include "tests/support/pg_url.h"
#include "tests/support/tcp_proxy.h"
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

// The retry after an ownership change, made deterministic: instance node2
// reaches the database through a proxy the test cuts, so its view of who
// owns what stays as it was. Strategy g1 is first handed (in the lease
// table) to a member "ghost" whose advertised address is a gRPC server of
// this test; node2 sees that, then loses the database; the forged lease
// expires and a real instance X takes g1. A client on node2 places an
// order: node2 forwards it to "ghost" (its frozen view), which answers, as
// a deposed owner does, FORWARDED_TO_NON_OWNER naming X; node2 sends it once
// more, to X, which executes it. Stored once; node2 counts one retry.
class GhostOwner final : public v1::ExchangeControl::Service {
 public:
  void Name(std::string node) {
    absl::MutexLock lock(&mu_);
    names_ = std::move(node);
  }
  int calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  std::string forwarded_by() {
    absl::MutexLock lock(&mu_);
    return forwarded_by_;
  }
  grpc::Status PlaceOrder(grpc::ServerContext* ctx, const v1::PlaceOrderRequest* req,
                          v1::PlaceOrderResponse*) override {
    absl::MutexLock lock(&mu_);
    ++calls_;
    auto it = ctx->client_metadata().find("x-xctl-forwarded-by");
    if (it != ctx->client_metadata().end()) forwarded_by_.assign(it->second.data(), it->second.size());
    return api::ToGrpcStatus(api::WithOwner(
        WithReason(absl::UnavailableError(absl::StrCat("strategy ", req->strategy_id(),
                                                       " runs on instance ", names_)),
                   "FORWARDED_TO_NON_OWNER"),
        names_));
  }

 private:
  absl::Mutex mu_;
  std::string names_ ABSL_GUARDED_BY(mu_);
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  std::string forwarded_by_ ABSL_GUARDED_BY(mu_);
};

class ClusterForwardRetryE2e : public ClusterFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartCluster(
        kNodes, "fwdretry",
        "metrics: {listen: \"127.0.0.1:0\"}\ncluster: {strategy_lease_ttl_ms: 1500}\n"
        "strategies:\n  - {id: g1, type: external, pairs: [BTC-USDT], leverage: \"10\"}\n",
        200));
    for (auto& n : nodes_) control_.push_back(v1::ExchangeControl::NewStub(n->channel()));
  }
  void TearDown() override {
    if (proxy_) proxy_->Resume();
    ClusterFixture::TearDown();
    if (ghost_server_) ghost_server_->Shutdown();
  }
  std::string DbUrlOf(int node) override {
    if (node != kNodes - 1) return db_->url();
    proxy_ = std::make_unique<xctl::testing::TcpProxy>(xctl::testing::PgPort(db_->url()));
    return xctl::testing::WithPgPort(db_->url(), proxy_->port());
  }

  grpc::Status Place(int node, const std::string& coid, bool here_only,
                     v1::PlaceOrderResponse* resp) {
    grpc::ClientContext c;
    c.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (here_only) c.AddMetadata("x-xctl-forwarded-by", "client");
    return control_[node]->PlaceOrder(&c, Market("g1", coid), resp);
  }
  // The node that runs g1 itself (answers a marked GetBalance), among `nodes`.
  int OwnerAmong(std::vector<int> nodes) {
    for (int n : nodes) {
      grpc::ClientContext c;
      c.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      c.AddMetadata("x-xctl-forwarded-by", "client");
      v1::GetBalanceRequest req;
      req.set_strategy_id("g1");
      v1::GetBalanceResponse resp;
      if (control_[n]->GetBalance(&c, req, &resp).ok()) return n;
    }
    return -1;
  }

  std::unique_ptr<xctl::testing::TcpProxy> proxy_;
  GhostOwner ghost_;
  std::unique_ptr<grpc::Server> ghost_server_;
  std::vector<std::unique_ptr<v1::ExchangeControl::Stub>> control_;
};

template <typename F>
bool Within(absl::Duration limit, F done) {
  for (const absl::Time until = absl::Now() + limit; absl::Now() < until;
       absl::SleepFor(absl::Milliseconds(50))) {
    if (done()) return true;
  }
  return done();
}

TEST_F(ClusterForwardRetryE2e, AnOwnershipChangeDuringTheCallIsRetriedOnceOnTheNewOwner) {
  ASSERT_TRUE(Within(absl::Seconds(30), [&] { return OwnerAmong({0, 1, 2}) >= 0; }));
  int ghost_port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &ghost_port);
  builder.RegisterService(&ghost_);
  ghost_server_ = builder.BuildAndStart();
  ASSERT_GT(ghost_port, 0);

  // g1 to "ghost", a live member at the test's server, for 4 s.
  xctl::testing::PgActivity sql(db_->url());
  sql.Exec("INSERT INTO cluster_leases (name, holder, expires_at, epoch) VALUES ('member:ghost', "
           "'ghost/strategies', now() + interval '1 hour', 1)");
  sql.Exec(absl::StrCat("INSERT INTO cluster_members (node, grpc_address) VALUES ('ghost', "
                        "'127.0.0.1:", ghost_port, "')"));
  sql.Exec("UPDATE cluster_leases SET holder = 'ghost/strategies', epoch = epoch + 1, "
           "expires_at = now() + interval '4 seconds' WHERE name = 'strategy:g1'");
  // node2 sees it (asked for itself only: it names ghost and sends nothing).
  ASSERT_TRUE(Within(absl::Seconds(10), [&] {
    v1::PlaceOrderResponse resp;
    grpc::Status st = Place(2, "probe", /*here_only=*/true, &resp);
    auto info = api::XctlErrorOf(st);
    return info && info->reason == "FORWARDED_TO_NON_OWNER" && info->owner == "ghost";
  })) << "node2 never saw ghost own g1";
  proxy_->Cut();  // node2's view stays: g1 on ghost
  // The forged lease expires; node0 or node1 takes g1 (node2 cannot).
  int owner = -1;
  ASSERT_TRUE(Within(absl::Seconds(20), [&] { return (owner = OwnerAmong({0, 1})) >= 0; }))
      << "nobody took g1 after the forged lease expired";
  ghost_.Name(absl::StrCat("node", owner));
  EXPECT_EQ(ghost_.calls(), 0);

  v1::PlaceOrderResponse resp;
  grpc::Status st = Place(2, "retry1", /*here_only=*/false, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.order().strategy_id(), "g1");
  EXPECT_EQ(resp.order().status(), v1::ORDER_STATUS_FILLED);
  EXPECT_FALSE(resp.replayed());
  EXPECT_EQ(ghost_.calls(), 1) << "first sent to the owner node2 knew";
  EXPECT_EQ(ghost_.forwarded_by(), "node2");
  // Executed once, by the new owner: it answers the same order as replayed.
  v1::PlaceOrderResponse again;
  ASSERT_TRUE(Place(owner, "retry1", /*here_only=*/true, &again).ok());
  EXPECT_TRUE(again.replayed());
  EXPECT_EQ(again.order().id(), resp.order().id());
  const int port = xctl::testing::MetricsPort(*nodes_[2]);
  ASSERT_GT(port, 0);
  const std::string page = xctl::testing::Scrape(port);
  EXPECT_EQ(xctl::testing::Value(page, "xctl_cluster_forwarded_calls_total{event=\"retried\"}"), 1)
      << page;
  EXPECT_EQ(xctl::testing::Value(page, "xctl_cluster_forwarded_calls_total{event=\"forwarded\"}"),
            2);
}

}  // namespace
}  // namespace xctl
