// ClusterFeed (position and KPI streams across instances, docs/cluster.md
// "Streams"): two in-process "instances", each a ControlFeed with its own
// NatsBus and ClusterFeed, on one real nats-server on loopback. Also the
// wire codec: round trips and hostile bytes.
#include "server/cluster/cluster_feed.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/cluster/subjects.h"
#include "tests/support/nats_server.h"

namespace xctl::cluster {
namespace {

using xctl::testing::NatsServer;

Decimal D(absl::string_view s) { return Decimal::Parse(s).value(); }

PositionView MakePosition(int64_t id, const std::string& strategy, absl::string_view mark,
                          PositionStatus status = PositionStatus::kOpen) {
  PositionView v;
  v.position.id = id;
  v.position.strategy_id = strategy;
  v.position.symbol = "BTC-USDT";
  v.position.side = PositionSide::kLong;
  v.position.open_time_ms = 1'700'000'000'000;
  v.position.open_price = D("64000.5");
  v.position.quantity = D("0.1");
  v.position.status = status;
  v.position.fees = D("0.01");
  v.position.exchange = "paper";
  if (status == PositionStatus::kClosed) {
    v.position.close_time_ms = 1'700'000'100'000;
    v.position.close_price = D(mark);
    v.position.pnl = D("1.5");
  } else {
    v.mark_price = D(mark);
    v.unrealized_pnl = D("2.25");
  }
  v.strategy_type = "sma_cross";
  return v;
}

KpiView MakeKpis(KpiScopeKind kind, const std::string& name, absl::string_view equity) {
  KpiView v;
  v.kind = kind;
  v.name = name;
  v.strategy_type = kind == KpiScopeKind::kStrategy ? "sma_cross" : "";
  v.time_ms = 1'700'000'000'123;
  v.figures.starting_balance = D("10000");
  v.figures.equity = D(equity);
  v.figures.realized_pnl = D("1.5");
  v.figures.win_rate = D("0.5");
  v.figures.closed_trades = 2;
  v.figures.average_holding_ms = 60'000;
  v.figures.open_exposure.push_back({"BTC-USDT", D("0.1"), D("6400.05")});
  v.figures.open_positions = 1;
  return v;
}

template <typename Pred>
bool WaitFor(Pred pred, absl::Duration timeout = absl::Seconds(20)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (pred()) return true;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return pred();
}

// Everything one ControlFeed subscriber received, drained on on_ready.
class Recorder {
 public:
  Recorder(ControlFeed& feed, FeedFilter filter) {
    sub_ = feed.Subscribe(std::move(filter), true, true, [this] { OnReady(); });
  }
  ~Recorder() { sub_->Cancel(); }

  std::vector<PositionView> Positions() {
    absl::MutexLock lock(&mu_);
    return positions_;
  }
  std::vector<KpiView> Kpis() {
    absl::MutexLock lock(&mu_);
    return kpis_;
  }
  uint64_t Conflated() {
    absl::MutexLock lock(&mu_);
    return conflated_;
  }
  bool HasPosition(int64_t id) {
    auto p = Positions();
    return std::any_of(p.begin(), p.end(), [&](const PositionView& v) { return v.position.id == id; });
  }
  absl::Time last_ready() {
    absl::MutexLock lock(&mu_);
    return last_ready_;
  }

 private:
  void OnReady() {
    const absl::Time now = absl::Now();
    auto batch = sub_->Drain();
    absl::MutexLock lock(&mu_);
    last_ready_ = now;
    for (auto& p : batch.positions) positions_.push_back(std::move(p));
    for (auto& k : batch.kpis) kpis_.push_back(std::move(k));
    conflated_ += batch.conflated;
  }

  std::unique_ptr<FeedSubscription> sub_;
  absl::Mutex mu_;
  std::vector<PositionView> positions_ ABSL_GUARDED_BY(mu_);
  std::vector<KpiView> kpis_ ABSL_GUARDED_BY(mu_);
  uint64_t conflated_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_ready_ ABSL_GUARDED_BY(mu_);
};

// One instance: its feed, the strategies it runs, its NATS link.
struct Node {
  std::string id;
  ControlFeed feed;
  absl::Mutex mu;
  std::set<std::string> local ABSL_GUARDED_BY(mu);
  std::vector<PositionView> open_for_refresh ABSL_GUARDED_BY(mu);
  std::unique_ptr<NatsBus> bus;
  std::unique_ptr<ClusterFeed> cluster;

  bool IsLocal(absl::string_view s) {
    absl::MutexLock lock(&mu);
    return local.contains(std::string(s));
  }
  void SetLocal(std::set<std::string> ids) {
    absl::MutexLock lock(&mu);
    local = std::move(ids);
  }
};

class ClusterFeedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto nats = NatsServer::Start();
    ASSERT_TRUE(nats.ok()) << nats.status();
    nats_ = *std::move(nats);
    auto raw = NatsBus::Connect(nats_->url(), "test-raw");
    ASSERT_TRUE(raw.ok()) << raw.status();
    raw_ = *std::move(raw);
  }

  // Starts a node running `local` strategies.
  Node& StartNode(const std::string& id, std::set<std::string> local,
                  absl::Duration refresh = absl::ZeroDuration(),
                  absl::Duration forget = absl::ZeroDuration()) {
    auto node = std::make_unique<Node>();
    node->id = id;
    node->SetLocal(std::move(local));
    auto bus = NatsBus::Connect(nats_->url(), id);
    EXPECT_TRUE(bus.ok()) << bus.status();
    node->bus = *std::move(bus);
    Node* n = node.get();
    ClusterFeedOptions options{
        .node_id = id,
        .is_local = [n](absl::string_view s) { return n->IsLocal(s); },
        .refresh_interval = refresh,
        .forget_after = forget};
    if (refresh > absl::ZeroDuration()) {
      options.local_open_positions = [n] {
        absl::MutexLock lock(&n->mu);
        return n->open_for_refresh;
      };
      options.local_kpis = [n] {
        std::vector<KpiView> out;
        absl::MutexLock lock(&n->mu);
        for (const std::string& s : n->local) out.push_back(MakeKpis(KpiScopeKind::kStrategy, s, "10001"));
        out.push_back(MakeKpis(KpiScopeKind::kAll, "", "10001"));
        return out;
      };
    }
    auto cluster = ClusterFeed::Start(*node->bus, node->feed, std::move(options));
    EXPECT_TRUE(cluster.ok()) << cluster.status();
    node->cluster = *std::move(cluster);
    nodes_.push_back(std::move(node));
    return *nodes_.back();
  }

  void TearDown() override {
    for (auto& n : nodes_) {
      if (n->cluster) n->cluster->Stop();
    }
    nodes_.clear();
  }

  void PublishRaw(const std::string& subject, const std::string& bytes) {
    ASSERT_TRUE(raw_->Publish(subject, bytes).ok());
    ASSERT_TRUE(raw_->Flush(absl::Seconds(5)).ok());
  }

  std::unique_ptr<NatsServer> nats_;
  std::unique_ptr<NatsBus> raw_;
  std::vector<std::unique_ptr<Node>> nodes_;
};

TEST_F(ClusterFeedTest, PositionOnA_ReachesFilteredSubscriberOnB_AndNotOtherStrategies) {
  Node& a = StartNode("node-a", {"a1", "a2"});
  Node& b = StartNode("node-b", {"b1"});
  Recorder b_a1(b.feed, FeedFilter{.strategy_id = "a1"});
  Recorder b_all(b.feed, FeedFilter{.include_closed = true});

  // a2 first: NATS keeps one publisher's order on one subscription, so once
  // a1's row is on B, a2's has been delivered too.
  a.feed.PublishPositions({MakePosition(2, "a2", "64100")});
  a.feed.PublishKpis({MakeKpis(KpiScopeKind::kStrategy, "a2", "9999")});
  a.feed.PublishPositions({MakePosition(1, "a1", "64100")});
  a.feed.PublishKpis({MakeKpis(KpiScopeKind::kStrategy, "a1", "10002")});
  ASSERT_TRUE(WaitFor([&] { return b_a1.HasPosition(1) && !b_a1.Kpis().empty(); }));
  ASSERT_TRUE(WaitFor([&] { return b_all.HasPosition(2) && b_all.Kpis().size() == 2; }));

  auto got = b_a1.Positions();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].position.strategy_id, "a1");
  EXPECT_EQ(got[0].position.open_price, D("64000.5"));
  EXPECT_EQ(got[0].mark_price, D("64100"));
  EXPECT_EQ(got[0].unrealized_pnl, D("2.25"));
  EXPECT_EQ(got[0].strategy_type, "sma_cross");
  auto kpis = b_a1.Kpis();
  ASSERT_EQ(kpis.size(), 1u);
  EXPECT_EQ(kpis[0].name, "a1");
  EXPECT_EQ(kpis[0].figures.equity, D("10002"));
  EXPECT_EQ(kpis[0].figures.average_holding_ms, 60'000);
  ASSERT_EQ(kpis[0].figures.open_exposure.size(), 1u);
  EXPECT_EQ(kpis[0].figures.open_exposure[0].notional, D("6400.05"));
  // B runs none of them: it republished nothing on NATS.
  EXPECT_EQ(b.cluster->stats().published, 0u);
}

TEST_F(ClusterFeedTest, OwnMessagesAreIgnored_NoEchoLoop) {
  Node& a = StartNode("node-a", {"a1"});
  Node& b = StartNode("node-b", {"b1"});
  Recorder a_all(a.feed, FeedFilter{.include_closed = true});
  Recorder b_all(b.feed, FeedFilter{.include_closed = true});

  a.feed.PublishPositions({MakePosition(1, "a1", "64100")});
  a.feed.PublishKpis({MakeKpis(KpiScopeKind::kStrategy, "a1", "10002")});
  b.feed.PublishPositions({MakePosition(7, "b1", "64100")});
  // NATS echoes each node's messages back to it: wait until both saw theirs.
  ASSERT_TRUE(WaitFor([&] { return a.cluster->stats().own_ignored >= 2; }));
  ASSERT_TRUE(WaitFor([&] { return b.cluster->stats().own_ignored >= 1; }));
  ASSERT_TRUE(WaitFor([&] { return b_all.HasPosition(1) && a_all.HasPosition(7); }));
  // A round trip later nothing more arrives anywhere.
  PublishRaw("xctl.positions.zz", "flush marker");
  ASSERT_TRUE(WaitFor([&] { return a.cluster->stats().invalid >= 1 && b.cluster->stats().invalid >= 1; }));
  absl::SleepFor(absl::Milliseconds(200));

  // Each change exactly once on each side.
  auto at_a = a_all.Positions();
  ASSERT_EQ(at_a.size(), 2u);  // its own row once, B's once
  EXPECT_EQ(a_all.Kpis().size(), 1u);
  EXPECT_EQ(a_all.Conflated(), 0u);
  auto at_b = b_all.Positions();
  ASSERT_EQ(at_b.size(), 2u);
  EXPECT_EQ(b_all.Kpis().size(), 1u);
  // Published: A its row and KPIs, B its row; remote rows never republished.
  EXPECT_EQ(a.cluster->stats().published, 2u);
  EXPECT_EQ(b.cluster->stats().published, 1u);
  EXPECT_EQ(a.cluster->stats().received, 1u);
  EXPECT_EQ(b.cluster->stats().received, 2u);
}

TEST_F(ClusterFeedTest, MalformedMessages_AreDroppedAndCounted) {
  Node& a = StartNode("node-a", {"a1"});
  Node& b = StartNode("node-b", {});
  Recorder b_all(b.feed, FeedFilter{.include_closed = true});

  PublishRaw("xctl.positions.a1", "not a protobuf \xff\xff\xff");
  PublishRaw("xctl.kpis.a1", std::string("\x0a\x05hello", 7));
  // Valid bytes of another strategy on a1's subject.
  PositionMessage wrong{.header = {.publisher = "node-x", .incarnation = 9, .sequence = 1,
                                   .strategy_id = "a2"},
                        .positions = {MakePosition(3, "a2", "1")}};
  PublishRaw("xctl.positions.a1", EncodePositionMessage(wrong).value());
  // A bad decimal inside an otherwise valid message.
  auto good = EncodePositionMessage(PositionMessage{
      .header = {.publisher = "node-x", .incarnation = 9, .sequence = 2, .strategy_id = "a1"},
      .positions = {MakePosition(4, "a1", "1")}});
  std::string corrupted = *good;
  const size_t at = corrupted.find("64000.5");
  ASSERT_NE(at, std::string::npos);
  corrupted[at] = 'x';
  PublishRaw("xctl.positions.a1", corrupted);
  ASSERT_TRUE(WaitFor([&] { return b.cluster->stats().invalid >= 4; }));
  EXPECT_EQ(b.cluster->stats().received, 0u);
  EXPECT_TRUE(b_all.Positions().empty());
  EXPECT_TRUE(b_all.Kpis().empty());

  // Still working afterwards.
  a.feed.PublishPositions({MakePosition(1, "a1", "64100")});
  ASSERT_TRUE(WaitFor([&] { return b_all.HasPosition(1); }));
  EXPECT_EQ(b.cluster->stats().invalid, 4u);
}

TEST_F(ClusterFeedTest, RemoteCache_AnswersSnapshots_AndDropsClosedPositions) {
  Node& a = StartNode("node-a", {"a1", "a2"});
  Node& b = StartNode("node-b", {"b1"});
  Recorder b_all(b.feed, FeedFilter{.include_closed = true});

  a.feed.PublishPositions({MakePosition(1, "a1", "64100"), MakePosition(2, "a1", "64100"),
                           MakePosition(3, "a2", "64100")});
  a.feed.PublishKpis({MakeKpis(KpiScopeKind::kStrategy, "a1", "10002"),
                      MakeKpis(KpiScopeKind::kType, "sma_cross", "20000"),
                      MakeKpis(KpiScopeKind::kAll, "", "30000")});
  a.feed.PublishPositions({MakePosition(1, "a1", "64200", PositionStatus::kClosed),
                           MakePosition(2, "a1", "64300")});
  ASSERT_TRUE(WaitFor([&] {
    auto p = b_all.Positions();
    return std::count_if(p.begin(), p.end(), [](const PositionView& v) {
             return v.position.status == PositionStatus::kClosed;
           }) == 1 &&
           !b_all.Kpis().empty();
  }));
  ASSERT_TRUE(WaitFor([&] { return b.cluster->RemoteOpenPositions({}).size() == 2; }));

  auto a1 = b.cluster->RemoteOpenPositions(FeedFilter{.strategy_id = "a1"});
  ASSERT_EQ(a1.size(), 1u);
  EXPECT_EQ(a1[0].position.id, 2);
  EXPECT_EQ(a1[0].mark_price, D("64300"));
  auto all = b.cluster->RemoteOpenPositions({});
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].position.id, 3);
  EXPECT_TRUE(b.cluster->RemoteOpenPositions(FeedFilter{.strategy_type = "other"}).empty());

  // Only strategy KPIs cross instances; type and "all" stay on A.
  auto kpis = b.cluster->RemoteKpis({});
  ASSERT_EQ(kpis.size(), 1u);
  EXPECT_EQ(kpis[0].kind, KpiScopeKind::kStrategy);
  EXPECT_EQ(kpis[0].name, "a1");
  EXPECT_EQ(kpis[0].figures.equity, D("10002"));
  EXPECT_EQ(b.cluster->RemoteKpis(FeedFilter{.strategy_type = "sma_cross"}).size(), 1u);
  EXPECT_TRUE(b.cluster->RemoteKpis(FeedFilter{.strategy_id = "a2"}).empty());
  for (const KpiView& k : b_all.Kpis()) EXPECT_EQ(k.kind, KpiScopeKind::kStrategy);

  auto strategies = b.cluster->RemoteStrategies();
  ASSERT_EQ(strategies.size(), 2u);
  EXPECT_EQ(strategies[0].strategy_id, "a1");
  EXPECT_EQ(strategies[0].node, "node-a");
  EXPECT_GT(strategies[0].last_heard_ms, 0);

  // B takes a1 over (sharding): its local views win, the cache hides a1.
  b.SetLocal({"b1", "a1"});
  EXPECT_TRUE(b.cluster->RemoteOpenPositions(FeedFilter{.strategy_id = "a1"}).empty());
  EXPECT_TRUE(b.cluster->RemoteKpis({}).empty());
  EXPECT_EQ(b.cluster->RemoteOpenPositions({}).size(), 1u);
}

TEST_F(ClusterFeedTest, Refresh_FillsALateReceiver_AndSilentOwnersAreForgotten) {
  Node& a = StartNode("node-a", {"a1", "a2"}, absl::Milliseconds(200));
  {
    absl::MutexLock lock(&a.mu);
    a.open_for_refresh = {MakePosition(5, "a1", "64100")};
  }
  // B starts after A published nothing incremental: only the refresh tells it.
  Node& b = StartNode("node-b", {}, absl::ZeroDuration(), absl::Seconds(2));
  Recorder b_all(b.feed, FeedFilter{.include_closed = true});
  ASSERT_TRUE(WaitFor([&] {
    return b.cluster->RemoteOpenPositions({}).size() == 1 && b.cluster->RemoteKpis({}).size() == 2;
  }));
  EXPECT_EQ(b.cluster->RemoteOpenPositions({})[0].position.id, 5);
  // New to B: its streams got them once; later refreshes change nothing there.
  ASSERT_TRUE(WaitFor([&] { return a.cluster->stats().refreshes >= 4; }));
  EXPECT_EQ(b_all.Positions().size(), 1u);
  EXPECT_EQ(b_all.Kpis().size(), 2u);

  // A closes the row without B hearing it (lost message): the next refresh
  // replaces a1's open set.
  {
    absl::MutexLock lock(&a.mu);
    a.open_for_refresh.clear();
  }
  ASSERT_TRUE(WaitFor([&] { return b.cluster->RemoteOpenPositions({}).empty(); }));

  // A goes away: after forget_after its strategies leave B's cache.
  a.cluster->Stop();
  ASSERT_TRUE(WaitFor([&] { return b.cluster->RemoteStrategies().empty(); }));
  EXPECT_GE(b.cluster->stats().forgotten, 2u);
}

TEST_F(ClusterFeedTest, Sequence_GapsAndDuplicatesAreCounted) {
  Node& b = StartNode("node-b", {});
  auto send = [&](uint64_t incarnation, uint64_t seq) {
    PositionMessage m{.header = {.publisher = "node-x", .incarnation = incarnation,
                                 .sequence = seq, .strategy_id = "x1"},
                      .positions = {MakePosition(static_cast<int64_t>(seq), "x1", "1")}};
    PublishRaw("xctl.positions.x1", EncodePositionMessage(m).value());
  };
  send(1, 1);
  send(1, 2);
  send(1, 5);  // 3 and 4 lost
  send(1, 2);  // duplicate
  send(2, 1);  // the publisher restarted: a new incarnation starts over
  ASSERT_TRUE(WaitFor([&] { return b.cluster->stats().received + b.cluster->stats().duplicates == 5; }));
  auto st = b.cluster->stats();
  EXPECT_EQ(st.received, 4u);
  EXPECT_EQ(st.duplicates, 1u);
  EXPECT_EQ(st.gaps, 2u);
}

// Added latency of the NATS hop: from PublishPositions on A's feed to the
// on_ready of a subscriber on B's feed. Printed, not asserted.
TEST_F(ClusterFeedTest, Latency_PublishOnA_ToReceiptOnB) {
  Node& a = StartNode("node-a", {"a1"});
  Node& b = StartNode("node-b", {});
  Recorder b_all(b.feed, FeedFilter{.strategy_id = "a1"});
  std::vector<double> us;
  for (int i = 1; i <= 300; ++i) {
    const absl::Time start = absl::Now();
    a.feed.PublishPositions({MakePosition(i, "a1", "64100")});
    ASSERT_TRUE(WaitFor([&] { return b_all.HasPosition(i); }, absl::Seconds(10)));
    us.push_back(absl::ToDoubleMicroseconds(b_all.last_ready() - start));
  }
  std::sort(us.begin(), us.end());
  std::printf("cluster_feed_latency samples=%zu p50_us=%.0f p99_us=%.0f max_us=%.0f\n", us.size(),
              us[us.size() / 2], us[us.size() * 99 / 100], us.back());
}

TEST(ClusterFeedCodec, RoundTrips) {
  PositionMessage m{.header = {.publisher = "node-a", .incarnation = 77, .sequence = 3,
                               .publish_time_ms = 123, .strategy_id = "a1", .full_state = true},
                    .positions = {MakePosition(1, "a1", "64100"),
                                  MakePosition(2, "a1", "64200", PositionStatus::kClosed)}};
  m.positions[1].position.side = PositionSide::kShort;
  m.positions[1].position.mode = TradingMode::kLive;
  auto bytes = EncodePositionMessage(m);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  auto back = DecodePositionMessage(*bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->header.publisher, "node-a");
  EXPECT_EQ(back->header.incarnation, 77u);
  EXPECT_EQ(back->header.sequence, 3u);
  EXPECT_TRUE(back->header.full_state);
  ASSERT_EQ(back->positions.size(), 2u);
  const Position& p = back->positions[1].position;
  EXPECT_EQ(p.side, PositionSide::kShort);
  EXPECT_EQ(p.mode, TradingMode::kLive);
  EXPECT_EQ(p.status, PositionStatus::kClosed);
  EXPECT_EQ(p.close_price, D("64200"));
  EXPECT_EQ(p.pnl, D("1.5"));
  EXPECT_EQ(p.close_time_ms, 1'700'000'100'000);
  EXPECT_FALSE(back->positions[1].mark_price.has_value());

  KpiMessage k{.header = {.publisher = "node-a", .incarnation = 77, .sequence = 1,
                          .strategy_id = "a1", .owner_epoch = 6},
               .kpis = MakeKpis(KpiScopeKind::kStrategy, "a1", "10002")};
  auto kb = EncodeKpiMessage(k);
  ASSERT_TRUE(kb.ok()) << kb.status();
  auto kback = DecodeKpiMessage(*kb);
  ASSERT_TRUE(kback.ok()) << kback.status();
  EXPECT_EQ(kback->kpis.figures.equity, D("10002"));
  EXPECT_EQ(kback->kpis.figures.win_rate, D("0.5"));
  EXPECT_FALSE(kback->kpis.figures.sharpe_ratio.has_value());
  EXPECT_EQ(kback->kpis.time_ms, 1'700'000'000'123);
  EXPECT_EQ(kback->header.owner_epoch, 6);  // the owner's lease epoch (ClusterKpis)

  // Refused on encode: a row of another strategy, an aggregate scope.
  m.positions[0].position.strategy_id = "a2";
  EXPECT_FALSE(EncodePositionMessage(m).ok());
  k.kpis.kind = KpiScopeKind::kAll;
  EXPECT_FALSE(EncodeKpiMessage(k).ok());
}

TEST(ClusterFeedCodec, HostileBytes_NeverCrash) {
  PositionMessage m{.header = {.publisher = "node-a", .incarnation = 77, .sequence = 3,
                               .strategy_id = "a1"},
                    .positions = {MakePosition(1, "a1", "64100")}};
  const std::string pos = EncodePositionMessage(m).value();
  const std::string kpi = EncodeKpiMessage(KpiMessage{
      .header = m.header, .kpis = MakeKpis(KpiScopeKind::kStrategy, "a1", "1")}).value();
  std::mt19937 rng(42);
  int refused = 0;
  for (int i = 0; i < 4000; ++i) {
    for (const std::string* base : {&pos, &kpi}) {
      std::string b = *base;
      if (i % 3 == 0) {
        b.resize(rng() % b.size());
      } else {
        for (int j = 0; j < 1 + i % 4; ++j) b[rng() % b.size()] = static_cast<char>(rng());
      }
      auto p = DecodePositionMessage(b);
      auto k = DecodeKpiMessage(b);
      refused += !p.ok() + !k.ok();
    }
  }
  EXPECT_GT(refused, 4000);
  EXPECT_FALSE(DecodePositionMessage(std::string(kMaxFeedMessageBytes + 1, 'x')).ok());
  EXPECT_FALSE(DecodePositionMessage("").ok());  // no header
}

}  // namespace
}  // namespace xctl::cluster
