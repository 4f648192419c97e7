// price.source blofin-ws in cluster mode (docs/cluster.md, "Price
// leadership"): two in-process instances, each a PriceModule on a
// BlofinWsSource behind ClusterPrices, one real nats-server, one PostgreSQL
// database (XCTL_TEST_PG_URL; skipped without it unless XCTL_REQUIRE_PG=1)
// and the fake BloFin's public WebSocket (tests/fake_blofin/fake_ws.py, which
// counts connections; needs <repo>/.venv: scripts/setup). Only the price
// leader holds a connection; both instances get the pushed prices over NATS;
// when the leader stops, the other connects.
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/cluster/cluster_prices.h"
#include "server/price/price_config.h"
#include "server/store/store.h"
#include "tests/support/fake_blofin.h"
#include "tests/support/nats_server.h"
#include "tests/support/test_databases.h"

namespace xctl::cluster {
namespace {

using xctl::testing::FakeBlofin;
using xctl::testing::NatsServer;
using xctl::testing::TestDatabase;

constexpr int kIntervalMs = 100;
constexpr int kTtlMs = 300;  // the floor xctld derives for short intervals

struct Node {
  std::unique_ptr<PriceModule> prices;
  std::unique_ptr<ClusterPrices> cluster;
  void Stop() {
    if (cluster) cluster->Stop(/*release=*/true);
    if (prices) prices->Stop();
  }
};

class ClusterPricesWsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::make_unique<TestDatabase>("postgresql");
    XCTL_REQUIRE_DATABASE(*db_);
    auto store = Store::Open({.url = db_->url()});  // applies the migrations
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    auto nats = NatsServer::Start();
    ASSERT_TRUE(nats.ok()) << nats.status();
    nats_ = *std::move(nats);
    ASSERT_TRUE(fake_.ok()) << "the fake BloFin with its WebSocket did not start (is "
                               "PyPI's websockets in <repo>/.venv? scripts/setup)";
    // Faster than BloFin's one push a second and one connection a second
    // (index.md, "WS Tickers Channel"; "WebSocket Connection Management").
    ASSERT_TRUE(fake_.WsControl(R"({"push_interval_ms":0,"connect_interval_ms":0})"));
  }

  void TearDown() override {
    for (auto& n : nodes_) n->Stop();
    nodes_.clear();
  }

  Node* StartNode(const std::string& id) {
    auto node = std::make_unique<Node>();
    PriceConfig config;
    config.pairs = pairs_;
    config.interval_ms = kIntervalMs;
    config.stale_after_intervals = 5;
    // The source xctld makes (MakePriceSource), on the fake: its 'ping'
    // after half the staleness limit keeps a quiet connection's pairs fresh.
    config.source = "blofin-ws";
    config.blofin_url = fake_.base_url();
    config.blofin_ws_url = fake_.ws_url();
    auto source = MakePriceSource(config);
    EXPECT_TRUE(source.ok()) << source.status();
    if (!source.ok()) return nullptr;
    node->prices = std::make_unique<PriceModule>(config, *std::move(source));
    ClusterPricesOptions options;
    options.nats_url = nats_->url();
    options.database_url = db_->url();
    options.node_id = id;
    options.lease_ttl = absl::Milliseconds(kTtlMs);
    options.nats.reconnect_wait = absl::Milliseconds(100);
    options.nats.reconnect_jitter = absl::Milliseconds(20);
    auto cluster = ClusterPrices::Start(options, *node->prices);
    EXPECT_TRUE(cluster.ok()) << cluster.status();
    if (!cluster.ok()) return nullptr;
    node->cluster = *std::move(cluster);
    node->prices->Start();
    nodes_.push_back(std::move(node));
    return nodes_.back().get();
  }

  static bool HasLast(Node* n, const std::string& pair, const std::string& last) {
    TickPtr t = n->prices->Latest(pair);
    return t && !t->stale && t->last.ToString() == last;
  }

  Node* Leader() {
    for (auto& n : nodes_) {
      if (n->cluster->LeaderEpoch()) return n.get();
    }
    return nullptr;
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<NatsServer> nats_;
  FakeBlofin fake_{/*websocket=*/true};
  const std::vector<std::string> pairs_ = {"BTC-USDT", "ETH-USDT"};
  std::vector<std::unique_ptr<Node>> nodes_;
};

TEST_F(ClusterPricesWsTest, OnlyTheLeaderConnectsBothGetThePushesAndTheSurvivorTakesOver) {
  Node* a = StartNode("node-a");
  Node* b = StartNode("node-b");
  ASSERT_TRUE(a && b);
  // The snapshot taken on connect (the fake's default prices) reaches both
  // instances through NATS.
  ASSERT_TRUE(xctl::testing::WaitFor([&] {
    return HasLast(a, "BTC-USDT", "64000.2") && HasLast(b, "BTC-USDT", "64000.2");
  })) << "the leader's snapshot did not reach both instances";
  ASSERT_TRUE(xctl::testing::WaitFor([&] {
    return fake_.ControlGet("ws").find(R"("BTC-USDT": 1)") != std::string::npos;
  }));
  Node* leader = Leader();
  ASSERT_NE(leader, nullptr);
  Node* follower = leader == a ? b : a;

  // Over 10 intervals of steady leadership: one connection, never two.
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(fake_.WsStat("connections"), 1) << "interval " << i;
    absl::SleepFor(absl::Milliseconds(kIntervalMs));
  }
  EXPECT_EQ(fake_.WsStat("connects"), 1);

  // A push reaches both, the leader too (it ingests from NATS, like the
  // follower).
  ASSERT_TRUE(fake_.SetTickers(R"({"BTC-USDT":{"bid":"65000","ask":"65000.5","last":"65000.1"},
                                  "ETH-USDT":{"last":"3200.05","bid":"3200","ask":"3200.1"}})"));
  ASSERT_TRUE(xctl::testing::WaitFor([&] {
    return HasLast(a, "BTC-USDT", "65000.1") && HasLast(b, "BTC-USDT", "65000.1");
  })) << "the push did not reach both instances";
  EXPECT_GT(leader->cluster->stats().batches_published, 0u);
  EXPECT_EQ(follower->cluster->stats().batches_published, 0u);

  // The quiet ETH pair is renewed over NATS (the leader's refresh), so it
  // does not go stale on the follower: 10 intervals > the 5-interval limit.
  absl::SleepFor(absl::Milliseconds(10 * kIntervalMs));
  EXPECT_TRUE(HasLast(follower, "ETH-USDT", "3200.05"));

  // The leader stops: the follower takes the lease, connects at its next
  // poll, and its pushes arrive.
  const absl::Time stop = absl::Now();
  leader->Stop();
  ASSERT_TRUE(xctl::testing::WaitFor([&] { return follower->cluster->LeaderEpoch().has_value(); }));
  ASSERT_TRUE(xctl::testing::WaitFor([&] { return fake_.WsStat("connects") == 2; }));
  std::printf("clean stop to the new leader's connection: %lld ms\n",
              static_cast<long long>(absl::ToInt64Milliseconds(absl::Now() - stop)));
  ASSERT_TRUE(xctl::testing::WaitFor([&] { return fake_.WsStat("connections") == 1; }));
  ASSERT_TRUE(xctl::testing::WaitFor([&] {
    return fake_.ControlGet("ws").find(R"("BTC-USDT": 1)") != std::string::npos;
  }));
  ASSERT_TRUE(fake_.SetTickers(R"({"BTC-USDT":{"bid":"66000","ask":"66000.5","last":"66000.1"},
                                  "ETH-USDT":{"last":"3200.05","bid":"3200","ask":"3200.1"}})"));
  ASSERT_TRUE(xctl::testing::WaitFor([&] { return HasLast(follower, "BTC-USDT", "66000.1"); }));
  EXPECT_GT(follower->cluster->stats().batches_published, 0u);
  EXPECT_EQ(fake_.WsStat("connects"), 2);
}

}  // namespace
}  // namespace xctl::cluster
