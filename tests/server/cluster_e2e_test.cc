// Cluster mode end to end (issue #8, price leadership): three real xctld
// processes with --cluster on one nats-server and one PostgreSQL database
// (XCTL_TEST_PG_URL; skipped without it unless XCTL_REQUIRE_PG=1), the blofin
// price source pointed at the fake BloFin server, which counts ticker
// requests. Prices reach a StreamPrices subscriber on every instance; the
// exchange sees about one request per interval for the whole cluster; after
// SIGKILL of the price leader another instance takes over and no instance
// publishes an old price as fresh; after a NATS restart prices resume without
// restarting anything. Also: --cluster with SQLite exits 2 with one line.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/cluster_fixture.h"
#include "tests/server/running_xctld.h"
#include "tests/support/subprocess.h"
#include "xctl/v1/prices.grpc.pb.h"

namespace xctl {
namespace {

using ::testing::HasSubstr;
using ::xctl::testing::BinaryPath;
using ::xctl::testing::ClusterFixture;
using ::xctl::testing::MakeTempDir;
using ::xctl::testing::Subprocess;

constexpr int kIntervalMs = 200;
constexpr int kStaleAfterIntervals = 5;
constexpr int kStaleLimitMs = kIntervalMs * kStaleAfterIntervals;  // 1 s
constexpr int kTtlMs = 300;  // derived: max(1.5 x 200, 300)
const char kTickers[] = "GET /api/v1/market/tickers";

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

template <typename Pred>
bool WaitFor(Pred pred, absl::Duration timeout = absl::Seconds(30)) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (pred()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return pred();
}

// A StreamPrices subscriber on one instance, reading on its own thread.
class PriceStream {
 public:
  struct Seen {
    int64_t arrival_ms;  // local time the message arrived here
    int64_t exchange_ms;
    int64_t receive_ms;
    bool stale;
    std::string last;
  };

  explicit PriceStream(std::shared_ptr<grpc::Channel> channel)
      : stub_(v1::PriceFeed::NewStub(channel)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~PriceStream() {
    ctx_.TryCancel();
    thread_.join();
  }

  std::vector<Seen> Updates() {
    absl::MutexLock lock(&mu_);
    return updates_;
  }
  // Non-stale updates that arrived after `after_ms`.
  int FreshSince(int64_t after_ms) {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(std::count_if(updates_.begin(), updates_.end(), [&](const Seen& s) {
      return !s.stale && s.arrival_ms > after_ms;
    }));
  }

 private:
  void Run() {
    v1::StreamPricesRequest req;
    auto reader = stub_->StreamPrices(&ctx_, req);
    v1::StreamPricesResponse msg;
    while (reader->Read(&msg)) {
      if (!msg.has_update()) continue;
      const int64_t now = NowMs();
      absl::MutexLock lock(&mu_);
      for (const auto& t : msg.update().ticks()) {
        updates_.push_back(Seen{now, Millis(t.exchange_time()), Millis(t.receive_time()),
                                t.stale(), t.last().value()});
      }
    }
    reader->Finish();
  }

  template <typename Timestamp>
  static int64_t Millis(const Timestamp& t) {
    return t.seconds() * 1000 + t.nanos() / 1'000'000;
  }

  std::unique_ptr<v1::PriceFeed::Stub> stub_;
  grpc::ClientContext ctx_;
  absl::Mutex mu_;
  std::vector<Seen> updates_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

// The node id of the instance whose log says it leads now ("" if none).
std::string LeaderFromLog(const std::string& log) {
  size_t gained = log.rfind("event=price_leader_gained");
  size_t lost = log.rfind("event=price_leader_lost");
  if (gained == std::string::npos) return "";
  if (lost != std::string::npos && lost > gained) return "";
  return "leader";
}

class ClusterE2e : public ClusterFixture {
 protected:
  void SetUp() override {
    StartCluster(3, "cluster", absl::StrCat("price: {stale_after_intervals: ", kStaleAfterIntervals,
                                            "}\n"),
                 kIntervalMs);
  }

  void TearDown() override {
    streams_.clear();
    ClusterFixture::TearDown();
  }

  // The index of the node whose log says it holds the price lead; -1 if none
  // or more than one.
  int LeaderIndex(const std::vector<int>& candidates) {
    int found = -1;
    for (int i : candidates) {
      if (LeaderFromLog(nodes_[i]->process().Stdout()).empty()) {
        continue;
      }
      if (found >= 0) return -1;
      found = i;
    }
    return found;
  }

  std::vector<std::unique_ptr<PriceStream>> streams_;
};

TEST_F(ClusterE2e, OneLeaderFetchesForAll_SurvivesLeaderSigkillAndNatsRestart) {
  for (auto& n : nodes_) streams_.push_back(std::make_unique<PriceStream>(n->channel()));
  const int64_t start = NowMs();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(WaitFor([&] { return streams_[i]->FreshSince(start) >= 3; }))
        << "no prices on instance " << i << "\n" << nodes_[i]->process().Stderr();
  }

  // 1. One ticker request per interval for the whole cluster (three
  // independent pollers would make three).
  const int r0 = blofin_.Requests(kTickers);
  const absl::Time t0 = absl::Now();
  absl::SleepFor(absl::Milliseconds(25 * kIntervalMs));
  const int requests = blofin_.Requests(kTickers) - r0;
  const double intervals = absl::ToDoubleMilliseconds(absl::Now() - t0) / kIntervalMs;
  std::printf("ticker requests: %d in %.1f intervals for 3 instances (%.2f per interval)\n",
              requests, intervals, requests / intervals);
  EXPECT_GT(requests, 0);
  EXPECT_LE(requests, intervals * 1.2 + 2) << "more than one instance polls the exchange";
  // Every instance kept receiving prices meanwhile.
  for (int i = 0; i < 3; ++i) {
    EXPECT_GE(streams_[i]->FreshSince(absl::ToUnixMillis(t0)), 5) << "instance " << i;
  }

  // 2. SIGKILL the price leader (found from its log line).
  int leader = -1;
  ASSERT_TRUE(WaitFor([&] { return (leader = LeaderIndex({0, 1, 2})) >= 0; }))
      << "no single price_leader_gained line";
  std::vector<int> survivors;
  for (int i = 0; i < 3; ++i) {
    if (i != leader) survivors.push_back(i);
  }
  nodes_[leader]->process().Signal(SIGKILL);
  ASSERT_TRUE(nodes_[leader]->process().Wait(absl::Seconds(10)).has_value());
  const int64_t kill_ms = NowMs();
  const int after_kill = blofin_.Requests(kTickers);  // includes all the dead one sent
  ASSERT_TRUE(WaitFor([&] { return blofin_.Requests(kTickers) > after_kill; }))
      << "nobody took over polling";
  const int64_t takeover_ms = NowMs() - kill_ms;
  for (int i : survivors) {
    ASSERT_TRUE(WaitFor([&] { return streams_[i]->FreshSince(kill_ms + takeover_ms) >= 2; }))
        << "instance " << i << " got no fresh prices after the takeover";
  }
  const int64_t resumed_ms = NowMs() - kill_ms;
  std::printf("leader killed: new leader polled after %lld ms, streams fresh again after %lld ms "
              "(interval %d ms, ttl %d ms)\n",
              static_cast<long long>(takeover_ms), static_cast<long long>(resumed_ms),
              kIntervalMs, kTtlMs);
  ASSERT_TRUE(WaitFor([&] { return LeaderIndex(survivors) >= 0; }));
  // Bound: ttl + ttl/3 (+ a fetch); generous slack for a loaded machine.
  EXPECT_LT(takeover_ms, kTtlMs * 4 / 3 + 3000);
  for (auto& n : nodes_) {
    if (n.get() == nodes_[leader].get()) continue;
    EXPECT_FALSE(n->process().Wait(absl::ZeroDuration()).has_value()) << "an instance died";
  }

  // 3. A NATS restart: every instance reconnects by itself, prices resume.
  nats_->Stop();
  const int64_t nats_down_ms = NowMs();
  // The gap shows as staleness once it exceeds the limit.
  for (int i : survivors) {
    EXPECT_TRUE(WaitFor([&] {
      for (const auto& s : streams_[i]->Updates()) {
        if (s.stale && s.arrival_ms > nats_down_ms) return true;
      }
      return false;
    })) << "instance " << i << " never flagged the gap as stale";
  }
  ASSERT_TRUE(nats_->Restart().ok());
  const int64_t nats_up_ms = NowMs();
  for (int i : survivors) {
    ASSERT_TRUE(WaitFor([&] { return streams_[i]->FreshSince(nats_up_ms) >= 3; }))
        << "instance " << i << " got no prices after the NATS restart\n"
        << nodes_[i]->process().Stderr();
  }
  std::printf("NATS restart: fresh prices on both survivors %lld ms after it came back\n",
              static_cast<long long>(NowMs() - nats_up_ms));
  for (int i : survivors) {
    EXPECT_FALSE(nodes_[i]->process().Wait(absl::ZeroDuration()).has_value());
  }

  // Throughout: no instance delivered a price older than the staleness limit
  // as fresh (the fake's exchange time is its clock at the request; all on
  // one host). Slack covers delivery on a loaded machine.
  for (int i = 0; i < 3; ++i) {
    for (const auto& s : streams_[i]->Updates()) {
      if (s.stale) continue;
      EXPECT_LE(s.arrival_ms - s.exchange_ms, kStaleLimitMs + 1000)
          << "instance " << i << " delivered an old price as fresh: " << s.last;
      EXPECT_LE(s.receive_ms - s.exchange_ms, kStaleLimitMs + 1000) << "instance " << i;
    }
  }
  // Every survivor ended up with the same price source: one poll per
  // interval again.
  const int r1 = blofin_.Requests(kTickers);
  const absl::Time t1 = absl::Now();
  absl::SleepFor(absl::Milliseconds(15 * kIntervalMs));
  const double intervals1 = absl::ToDoubleMilliseconds(absl::Now() - t1) / kIntervalMs;
  EXPECT_LE(blofin_.Requests(kTickers) - r1, intervals1 * 1.2 + 2);

  // SIGTERM: the leader releases its lease and every survivor exits cleanly.
  streams_.clear();
  for (int i : survivors) {
    std::optional<int> code = nodes_[i]->Stop();
    ASSERT_TRUE(code.has_value()) << "instance " << i << " did not stop";
    EXPECT_EQ(*code, 0) << nodes_[i]->process().Stderr();
  }
}

TEST(ClusterFlag, WithSqlite_ExitsTwoWithOneClearLine) {
  const std::string dir = MakeTempDir("cluster-sqlite");
  Subprocess p({BinaryPath("server/xctld"), "--cluster=nats://127.0.0.1:4222",
                "--db=sqlite:" + dir + "/xctl.db", "--listen=127.0.0.1:0"},
               dir + "/xctld");
  auto exit = p.Wait(absl::Seconds(30));
  ASSERT_TRUE(exit.has_value()) << "xctld kept running";
  EXPECT_EQ(*exit, 2) << p.Stderr();
  const std::string err = p.Stderr();
  EXPECT_THAT(err, HasSubstr(
                       "xctld: cluster mode needs a PostgreSQL database (database is sqlite:"));
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

}  // namespace
}  // namespace xctl
