// ClusterPrices (price leadership over NATS and a PostgreSQL lease) with
// in-process instances: two PriceModules, each with its own NatsBus and
// LeaseKeeper, one real nats-server on loopback, one PostgreSQL database
// (XCTL_TEST_PG_URL; skipped without it unless XCTL_REQUIRE_PG=1), and one
// counting fake exchange behind both price sources.
#include "server/cluster/cluster_prices.h"

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/cluster/lease.h"
#include "server/cluster/subjects.h"
#include "server/cluster/tick_codec.h"
#include "server/store/store.h"
#include "tests/support/nats_server.h"
#include "tests/support/test_databases.h"

namespace xctl::cluster {
namespace {

using xctl::testing::NatsServer;
using xctl::testing::TestDatabase;

constexpr int kIntervalMs = 100;
constexpr int kTtlMs = 300;  // the floor xctld derives for short intervals
const std::string kPair = "BTC-USDT";

// The exchange both instances would poll: every fetch returns a new price
// (last = n, exchange time = kBaseTime + n for the n-th fetch overall).
struct FakeExchange {
  static constexpr int64_t kBaseTime = 1'700'000'000'000;
  std::atomic<int64_t> fetches{0};
};

class CountingSource : public PriceSource {
 public:
  explicit CountingSource(std::shared_ptr<FakeExchange> ex) : ex_(std::move(ex)) {}
  absl::string_view name() const override { return "counting"; }
  absl::StatusOr<std::vector<Tick>> Fetch(const std::vector<std::string>&) override {
    int64_t n = ++ex_->fetches;
    Tick t;
    t.pair = kPair;
    t.last = Decimal::Parse(absl::StrCat(n)).value();
    t.exchange_time_ms = FakeExchange::kBaseTime + n;
    return std::vector<Tick>{t};
  }

 private:
  std::shared_ptr<FakeExchange> ex_;
};

// One instance: a PriceModule fed by ClusterPrices, and everything its
// subscribers saw.
struct Node {
  std::unique_ptr<PriceModule> prices;
  std::unique_ptr<ClusterPrices> cluster;
  std::unique_ptr<Subscription> sub;
  absl::Mutex mu;
  std::vector<Tick> seen ABSL_GUARDED_BY(mu);

  std::vector<Tick> Seen() {
    absl::MutexLock lock(&mu);
    return seen;
  }
  // Exchange time of the newest non-stale tick seen (0: none).
  int64_t NewestExchangeTime() {
    absl::MutexLock lock(&mu);
    int64_t newest = 0;
    for (const Tick& t : seen) {
      if (!t.stale) newest = std::max(newest, t.exchange_time_ms);
    }
    return newest;
  }
  void Stop(bool release = true) {
    if (cluster) cluster->Stop(release);
    if (prices) prices->Stop();
  }
};

class ClusterPricesTest : public ::testing::Test {
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
  }

  void TearDown() override {
    for (auto& n : nodes_) n->Stop();
    nodes_.clear();
  }

  Node* StartNode(const std::string& id, bool per_pair = false) {
    auto node = std::make_unique<Node>();
    PriceConfig config;
    config.pairs = {kPair};
    config.interval_ms = kIntervalMs;
    config.stale_after_intervals = 5;
    node->prices = std::make_unique<PriceModule>(config, std::make_unique<CountingSource>(ex_));
    ClusterPricesOptions options;
    options.nats_url = nats_->url();
    options.database_url = db_->url();
    options.node_id = id;
    options.lease_ttl = absl::Milliseconds(kTtlMs);
    options.publish_per_pair = per_pair;
    options.nats.reconnect_wait = absl::Milliseconds(100);
    options.nats.reconnect_jitter = absl::Milliseconds(20);
    auto cluster = ClusterPrices::Start(options, *node->prices);
    EXPECT_TRUE(cluster.ok()) << cluster.status();
    if (!cluster.ok()) return nullptr;
    node->cluster = *std::move(cluster);
    Node* raw = node.get();
    node->sub = node->prices->SubscribeCallback({}, [raw](const std::vector<TickPtr>& ticks) {
      absl::MutexLock lock(&raw->mu);
      for (const auto& t : ticks) raw->seen.push_back(*t);
    });
    node->prices->Start();
    nodes_.push_back(std::move(node));
    return raw;
  }

  // Polls `pred` every 10 ms until it holds or `timeout` passes.
  template <typename Pred>
  static bool WaitFor(Pred pred, absl::Duration timeout = absl::Seconds(20)) {
    absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (pred()) return true;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return pred();
  }

  // The node that leads now (nullptr if none).
  Node* Leader() {
    for (auto& n : nodes_) {
      if (n->cluster->LeaderEpoch()) return n.get();
    }
    return nullptr;
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<NatsServer> nats_;
  std::shared_ptr<FakeExchange> ex_ = std::make_shared<FakeExchange>();
  std::vector<std::unique_ptr<Node>> nodes_;
};

TEST_F(ClusterPricesTest, TwoInstances_OneFetchPerIntervalAndBothGetTheSamePrices) {
  Node* a = StartNode("node-a");
  Node* b = StartNode("node-b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(WaitFor([&] { return a->NewestExchangeTime() > 0 && b->NewestExchangeTime() > 0; }))
      << "no prices reached both instances";

  // Over a window of about 20 intervals, the exchange sees about one fetch
  // per interval for both instances together (two pollers would make ~40).
  const int64_t f0 = ex_->fetches.load();
  const absl::Time t0 = absl::Now();
  absl::SleepFor(absl::Milliseconds(20 * kIntervalMs));
  const int64_t fetched = ex_->fetches.load() - f0;
  const double intervals = absl::ToDoubleMilliseconds(absl::Now() - t0) / kIntervalMs;
  EXPECT_LE(fetched, intervals + 2) << "more than one instance is fetching";
  EXPECT_GE(fetched, 1) << "nobody fetched";
  std::printf("fetches: %lld in %.1f intervals (2 instances)\n", static_cast<long long>(fetched),
              intervals);

  // Both instances (the leader too, through NATS) get the same prices, with
  // the exchange's timestamps and their own receive times.
  ASSERT_TRUE(WaitFor([&] {
    TickPtr ta = a->prices->Latest(kPair);
    TickPtr tb = b->prices->Latest(kPair);
    return ta && tb && ta->exchange_time_ms == tb->exchange_time_ms && ta->last == tb->last;
  }));
  std::set<int64_t> seen_a, seen_b;
  for (const Tick& t : a->Seen()) {
    seen_a.insert(t.exchange_time_ms);
    EXPECT_EQ(t.last.ToString(), absl::StrCat(t.exchange_time_ms - FakeExchange::kBaseTime));
    EXPECT_GT(t.receive_time_ms, FakeExchange::kBaseTime);  // stamped locally, not 0
  }
  for (const Tick& t : b->Seen()) seen_b.insert(t.exchange_time_ms);
  size_t common = 0;
  for (int64_t e : seen_a) common += seen_b.count(e);
  EXPECT_GE(common, std::min(seen_a.size(), seen_b.size()) * 8 / 10)
      << "the instances saw different prices";
  EXPECT_GE(common, 5u);
  EXPECT_GT(a->cluster->stats().batches_applied, 0u);
  EXPECT_GT(b->cluster->stats().batches_applied, 0u);
}

TEST_F(ClusterPricesTest, LeaderCrashes_AnotherTakesOverWithinTwoTtlsAndPricesResume) {
  Node* a = StartNode("node-a");
  Node* b = StartNode("node-b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(WaitFor([&] { return Leader() != nullptr && b->NewestExchangeTime() > 0 &&
                                   a->NewestExchangeTime() > 0; }));
  Node* leader = Leader();
  Node* survivor = leader == a ? b : a;
  const int64_t old_epoch = *leader->cluster->LeaderEpoch();

  // A crash: the lease is not released, it must expire.
  const absl::Time crash = absl::Now();
  leader->Stop(/*release=*/false);
  const int64_t last_before = ex_->fetches.load() + FakeExchange::kBaseTime;
  ASSERT_TRUE(WaitFor([&] { return survivor->NewestExchangeTime() > last_before; }))
      << "the survivor never published prices";
  const absl::Duration takeover = absl::Now() - crash;
  std::printf("takeover after a crash: %lld ms (ttl %d ms, interval %d ms)\n",
              static_cast<long long>(absl::ToInt64Milliseconds(takeover)), kTtlMs, kIntervalMs);
  ASSERT_TRUE(survivor->cluster->LeaderEpoch().has_value());
  EXPECT_GT(*survivor->cluster->LeaderEpoch(), old_epoch);
  // Bound: ttl (expiry) + ttl/3 (next keeper cycle) = 400 ms, plus a fetch;
  // generous slack for a loaded machine.
  EXPECT_LT(takeover, absl::Milliseconds(kTtlMs * 4 / 3) + absl::Seconds(3));
  // No tick was ever flagged fresh with a price older than the limit: the
  // survivor's ticks all carry exchange times the exchange produced in order.
  int64_t prev = 0;
  for (const Tick& t : survivor->Seen()) {
    if (t.stale) continue;
    EXPECT_GT(t.exchange_time_ms, prev) << "an older price was published as fresh";
    prev = t.exchange_time_ms;
  }
}

TEST_F(ClusterPricesTest, LeaderShutsDown_ReleasesAndAnotherTakesOverAtOnce) {
  Node* a = StartNode("node-a");
  Node* b = StartNode("node-b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(WaitFor([&] { return Leader() != nullptr; }));
  Node* leader = Leader();
  Node* survivor = leader == a ? b : a;
  const absl::Time stop = absl::Now();
  leader->Stop(/*release=*/true);
  ASSERT_TRUE(WaitFor([&] { return survivor->cluster->LeaderEpoch().has_value(); }));
  std::printf("takeover after a clean stop: %lld ms\n",
              static_cast<long long>(absl::ToInt64Milliseconds(absl::Now() - stop)));
  const int64_t f = ex_->fetches.load();
  EXPECT_TRUE(WaitFor([&] { return ex_->fetches.load() > f + 3; }));
}

TEST_F(ClusterPricesTest, Follower_AppliesOnlyFreshBatchesOfTheNewestEpoch) {
  // Someone else holds the lease for a long time: this instance only follows.
  auto table = LeaseTable::Open(db_->url());
  ASSERT_TRUE(table.ok()) << table.status();
  auto held = (*table)->TryAcquire(std::string(kPriceLeaderLease), "outsider", absl::Hours(1));
  ASSERT_TRUE(held.ok() && held->held);
  Node* f = StartNode("follower");
  ASSERT_TRUE(f);
  auto bus = NatsBus::Connect(nats_->url(), "test-publisher");
  ASSERT_TRUE(bus.ok()) << bus.status();
  const int64_t now = absl::ToUnixMillis(absl::Now());
  auto publish = [&](int64_t epoch, uint64_t seq, int64_t publish_time, const std::string& last) {
    Tick t;
    t.pair = kPair;
    t.last = Decimal::Parse(last).value();
    t.exchange_time_ms = publish_time - 5;
    t.receive_time_ms = publish_time - 1;
    auto bytes = EncodeTickBatch({.publisher = "outsider", .leader_epoch = epoch,
                                  .batch_sequence = seq, .publish_time_ms = publish_time},
                                 absl::MakeConstSpan(&t, 1));
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    ASSERT_TRUE((*bus)->Publish(kPriceBatchSubject, *bytes).ok());
    ASSERT_TRUE((*bus)->Flush(absl::Seconds(5)).ok());
  };
  auto latest_last = [&] {
    TickPtr t = f->prices->Latest(kPair);
    return t ? t->last.ToString() : std::string();
  };

  publish(5, 1, now, "100");
  ASSERT_TRUE(WaitFor([&] { return latest_last() == "100"; }));
  TickPtr first = f->prices->Latest(kPair);
  EXPECT_EQ(first->exchange_time_ms, now - 5);  // the exchange's time survives
  EXPECT_GE(first->receive_time_ms, now);       // the receive time is local
  EXPECT_FALSE(first->stale);

  publish(4, 99, absl::ToUnixMillis(absl::Now()), "666");  // a deposed leader
  publish(5, 2, absl::ToUnixMillis(absl::Now()) - 60'000, "777");  // stuck for a minute
  publish(5, 1, absl::ToUnixMillis(absl::Now()), "888");  // a duplicate
  publish(5, 3, absl::ToUnixMillis(absl::Now()), "101");  // the real next one
  ASSERT_TRUE(WaitFor([&] { return latest_last() == "101"; }));
  for (const Tick& t : f->Seen()) {
    EXPECT_NE(t.last.ToString(), "666");
    EXPECT_NE(t.last.ToString(), "777");
    EXPECT_NE(t.last.ToString(), "888");
  }
  // The counter moves right after Ingest returns.
  EXPECT_TRUE(WaitFor([&] { return f->cluster->stats().batches_applied == 2; }));
  ClusterPrices::Stats s = f->cluster->stats();
  EXPECT_EQ(s.batches_applied, 2u);
  EXPECT_EQ(s.batches_stale_epoch, 1u);
  EXPECT_EQ(s.batches_too_old, 1u);
  EXPECT_EQ(s.batches_duplicate, 1u);
  EXPECT_EQ(ex_->fetches.load(), 0) << "a follower fetched";
  EXPECT_FALSE(f->cluster->LeaderEpoch().has_value());

  // Nothing more arrives: the follower's own timer flags the pair stale.
  ASSERT_TRUE(WaitFor([&] {
    TickPtr t = f->prices->Latest(kPair);
    return t && t->stale;
  }));
  EXPECT_EQ(f->prices->Latest(kPair)->last.ToString(), "101");
}

TEST_F(ClusterPricesTest, NatsRestart_PricesResumeOnBothWithoutRestartingThem) {
  Node* a = StartNode("node-a");
  Node* b = StartNode("node-b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(WaitFor([&] { return a->NewestExchangeTime() > 0 && b->NewestExchangeTime() > 0; }));
  nats_->Stop();
  ASSERT_TRUE(WaitFor(
      [&] { return !a->cluster->nats_connected() && !b->cluster->nats_connected(); }));
  // While NATS is away nobody fetches for long (the leader steps down).
  ASSERT_TRUE(WaitFor([&] { return Leader() == nullptr; }));
  const int64_t during = ex_->fetches.load();
  absl::SleepFor(absl::Milliseconds(5 * kIntervalMs));
  EXPECT_LE(ex_->fetches.load(), during + 1);
  ASSERT_TRUE(WaitFor([&] {
    TickPtr ta = a->prices->Latest(kPair);
    TickPtr tb = b->prices->Latest(kPair);
    return ta && tb && ta->stale && tb->stale;
  })) << "the gap must show as staleness";

  ASSERT_TRUE(nats_->Restart().ok());
  const int64_t resumed = ex_->fetches.load() + FakeExchange::kBaseTime;
  ASSERT_TRUE(WaitFor([&] {
    return a->NewestExchangeTime() > resumed && b->NewestExchangeTime() > resumed;
  })) << "prices did not resume after the NATS restart";
  EXPECT_FALSE(a->prices->Latest(kPair)->stale);
  EXPECT_FALSE(b->prices->Latest(kPair)->stale);
}

TEST_F(ClusterPricesTest, PublishPerPair_AlsoSendsEachPairOnItsOwnSubject) {
  auto bus = NatsBus::Connect(nats_->url(), "test-listener");
  ASSERT_TRUE(bus.ok()) << bus.status();
  absl::Mutex mu;
  std::vector<DecodedTickBatch> got;
  std::vector<std::string> subjects;
  auto sub = (*bus)->Subscribe("xctl.prices.>", [&](absl::string_view subject,
                                                   absl::string_view payload) {
    auto d = DecodeTickBatch(payload);
    absl::MutexLock lock(&mu);
    subjects.emplace_back(subject);
    if (d.ok()) got.push_back(*std::move(d));
  });
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE((*bus)->Flush(absl::Seconds(5)).ok());
  Node* a = StartNode("node-a", /*per_pair=*/true);
  ASSERT_TRUE(a);
  ASSERT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&mu);
    return got.size() >= 2;
  }));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(subjects[0], "xctl.prices.BTC-USDT");
  ASSERT_EQ(got[0].ticks.size(), 1u);
  EXPECT_EQ(got[0].ticks[0].pair, kPair);
  EXPECT_EQ(got[0].header.publisher, "node-a");
  EXPECT_LT(got[0].header.batch_sequence, got[1].header.batch_sequence);
}

}  // namespace
}  // namespace xctl::cluster
