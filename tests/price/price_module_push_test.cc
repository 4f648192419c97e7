// PriceModule with a pushing source (blofin-ws) behind a fetch gate (cluster
// mode, docs/cluster.md "Price leadership"): only while the gate returns a
// sink (the price leader) does the push run, and its ticks go to that sink,
// not to Ingest. Without a gate, Start pushes into Ingest as before.
#include <atomic>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/price/price_module.h"

namespace xctl {
namespace {

using ::testing::ElementsAre;

Tick MakeTick(const std::string& pair, absl::string_view last) {
  Tick t;
  t.pair = pair;
  t.last = Decimal::Parse(last).value();
  return t;
}

// A pushing source with a push thread of its own, as BlofinWsSource: Push()
// queues ticks, the thread hands them to the sink StartPushing got.
// StopPushing joins the thread (so a caller that holds a lock the sink takes
// would deadlock here, as with the real source).
class FakePushSource : public PriceSource {
 public:
  // Outlives the source (checked after the module destroyed it).
  struct Record {
    std::atomic<int> starts{0};
    std::atomic<int> stops{0};
    std::atomic<bool> destroyed_while_pushing{false};
  };
  ~FakePushSource() override {
    {
      absl::MutexLock lock(&mu_);
      if (thread_.joinable()) record_->destroyed_while_pushing = true;
    }
    StopPushing();
  }
  std::shared_ptr<Record> record() const { return record_; }
  absl::string_view name() const override { return "fake-push"; }
  absl::StatusOr<std::vector<Tick>> Fetch(const std::vector<std::string>&) override {
    absl::MutexLock lock(&mu_);
    ++fetches_;
    return std::vector<Tick>();  // a pushing source's Fetch reads no prices
  }
  bool Pushes() const override { return true; }
  void StartPushing(const std::vector<std::string>& pairs, PushSink sink) override {
    absl::MutexLock lock(&mu_);
    if (thread_.joinable()) {
      ++double_starts_;
      return;
    }
    ++starts_;
    ++record_->starts;
    pairs_ = pairs;
    stopping_ = false;
    thread_ = std::thread([this, sink = std::move(sink)] { Run(sink); });
  }
  void StopPushing() override {
    std::thread thread;
    {
      absl::MutexLock lock(&mu_);
      if (!thread_.joinable()) return;
      ++stops_;
      ++record_->stops;
      stopping_ = true;
      thread = std::move(thread_);
    }
    thread.join();
  }

  // Queues `ticks` for the push thread; false when no push runs.
  bool Push(std::vector<Tick> ticks) {
    absl::MutexLock lock(&mu_);
    if (!thread_.joinable() || stopping_) return false;
    queue_.push_back(std::move(ticks));
    return true;
  }
  // Waits until the push thread handed every queued batch to the sink.
  void AwaitDelivered() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](FakePushSource* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) {
          return s->queue_.empty() && !s->delivering_;
        },
        this));
  }

  int starts() const { absl::MutexLock lock(&mu_); return starts_; }
  int stops() const { absl::MutexLock lock(&mu_); return stops_; }
  int double_starts() const { absl::MutexLock lock(&mu_); return double_starts_; }
  int fetches() const { absl::MutexLock lock(&mu_); return fetches_; }
  bool pushing() const { absl::MutexLock lock(&mu_); return thread_.joinable(); }
  std::vector<std::string> pairs() const { absl::MutexLock lock(&mu_); return pairs_; }

 private:
  void Run(const PushSink& sink) {
    while (true) {
      std::vector<Tick> ticks;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](FakePushSource* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) {
              return s->stopping_ || !s->queue_.empty();
            },
            this));
        if (stopping_) return;
        ticks = std::move(queue_.front());
        queue_.pop_front();
        delivering_ = true;
      }
      sink(std::move(ticks));
      absl::MutexLock lock(&mu_);
      delivering_ = false;
    }
  }

  const std::shared_ptr<Record> record_ = std::make_shared<Record>();
  mutable absl::Mutex mu_;
  std::thread thread_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool delivering_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<std::vector<Tick>> queue_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> pairs_ ABSL_GUARDED_BY(mu_);
  int starts_ ABSL_GUARDED_BY(mu_) = 0;
  int stops_ ABSL_GUARDED_BY(mu_) = 0;
  int double_starts_ ABSL_GUARDED_BY(mu_) = 0;
  int fetches_ ABSL_GUARDED_BY(mu_) = 0;
};

// The gate ClusterPrices installs, reduced to its answer: a sink tagged with
// the leader epoch while `epoch` is non-zero, else none. The sinks record
// what reached them ("epoch:pair:last").
class FakeGate {
 public:
  void set_epoch(int epoch) {
    absl::MutexLock lock(&mu_);
    epoch_ = epoch;
  }
  PriceModule::FetchGate gate() {
    return [this]() -> PriceModule::FetchSink {
      absl::MutexLock lock(&mu_);
      if (epoch_ == 0) return {};
      return [this, e = epoch_](std::vector<Tick> ticks) {
        absl::MutexLock lock(&mu_);
        for (const Tick& t : ticks) {
          received_.push_back(absl::StrCat(e, ":", t.pair, ":", t.last.ToString()));
        }
      };
    };
  }
  std::vector<std::string> received() const {
    absl::MutexLock lock(&mu_);
    return received_;
  }

 private:
  mutable absl::Mutex mu_;
  int epoch_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> received_ ABSL_GUARDED_BY(mu_);
};

PriceConfig Config() {
  PriceConfig c;
  c.pairs = {"BTC-USDT", "ETH-USDT"};
  c.interval_ms = 100;
  c.stale_after_intervals = 3;
  return c;
}

struct Fixture {
  Fixture() {
    auto s = std::make_unique<FakePushSource>();
    source = s.get();
    module = std::make_unique<PriceModule>(Config(), std::move(s), clock);
    module->SetFetchGate(gate.gate());
  }
  FakeClock clock;
  FakeGate gate;
  FakePushSource* source;
  std::unique_ptr<PriceModule> module;
};

TEST(PriceModuleGatedPush, AFollowerNeverStartsThePushNorFetches) {
  Fixture f;
  for (int i = 0; i < 5; ++i) {
    f.module->PollOnce();
    f.clock.Advance(absl::Milliseconds(100));
  }
  // Start() with a gate does not start the push either (its first poll runs
  // at once on the poll thread and finds the gate closed).
  f.module->Start();
  ASSERT_TRUE(f.clock.AwaitSleeper());
  f.module->Stop();
  EXPECT_EQ(f.source->starts(), 0);
  EXPECT_EQ(f.source->stops(), 0);
  EXPECT_EQ(f.source->fetches(), 0);
  EXPECT_FALSE(f.source->Push({MakeTick("BTC-USDT", "64000")}));
  EXPECT_EQ(f.module->Latest("BTC-USDT"), nullptr);
}

TEST(PriceModuleGatedPush, TheLeaderPushesToTheGateSinkUntilItLosesTheLead) {
  Fixture f;
  f.module->PollOnce();  // follower
  EXPECT_EQ(f.source->starts(), 0);

  f.gate.set_epoch(7);   // becomes the leader
  f.module->PollOnce();
  EXPECT_EQ(f.source->starts(), 1);
  EXPECT_THAT(f.source->pairs(), ElementsAre("BTC-USDT", "ETH-USDT"));
  EXPECT_EQ(f.source->fetches(), 1);  // the leader's poll still asks the source (health)
  ASSERT_TRUE(f.source->Push({MakeTick("BTC-USDT", "64000")}));
  f.source->AwaitDelivered();
  EXPECT_THAT(f.gate.received(), ElementsAre("7:BTC-USDT:64000"));
  // To the sink (the leader's NATS publisher), not to Ingest: the cache
  // fills from NATS only.
  EXPECT_EQ(f.module->Latest("BTC-USDT"), nullptr);

  f.module->PollOnce();  // still the leader: the push keeps running
  EXPECT_EQ(f.source->starts(), 1);
  EXPECT_EQ(f.source->double_starts(), 0);
  EXPECT_EQ(f.source->stops(), 0);

  f.gate.set_epoch(0);   // lost the lead
  f.module->PollOnce();
  EXPECT_EQ(f.source->stops(), 1);
  EXPECT_FALSE(f.source->pushing());
  f.module->PollOnce();
  EXPECT_EQ(f.source->stops(), 1);
  EXPECT_EQ(f.source->starts(), 1);
  EXPECT_EQ(f.source->fetches(), 2);

  f.gate.set_epoch(9);   // leads again, a new epoch: pushes go to the new sink
  f.module->PollOnce();
  EXPECT_EQ(f.source->starts(), 2);
  ASSERT_TRUE(f.source->Push({MakeTick("ETH-USDT", "3200")}));
  f.source->AwaitDelivered();
  EXPECT_THAT(f.gate.received(), ElementsAre("7:BTC-USDT:64000", "9:ETH-USDT:3200"));
  EXPECT_EQ(f.module->Latest("ETH-USDT"), nullptr);
  EXPECT_EQ(f.source->double_starts(), 0);
}

TEST(PriceModuleGatedPush, StopEndsTheLeadersPush) {
  Fixture f;
  f.gate.set_epoch(3);
  f.module->Start();
  ASSERT_TRUE(f.clock.AwaitSleeper());  // the first poll ran: the push runs
  EXPECT_EQ(f.source->starts(), 1);
  ASSERT_TRUE(f.source->Push({MakeTick("BTC-USDT", "64000")}));
  f.source->AwaitDelivered();
  f.module->Stop();
  EXPECT_EQ(f.source->stops(), 1);
  EXPECT_FALSE(f.source->pushing());
  EXPECT_THAT(f.gate.received(), ElementsAre("3:BTC-USDT:64000"));
}

TEST(PriceModuleGatedPush, DestroyingTheModuleStopsAPushThatPollOnceStarted) {
  FakeGate gate;
  FakeClock clock;
  auto s = std::make_unique<FakePushSource>();
  auto record = s->record();
  auto module = std::make_unique<PriceModule>(Config(), std::move(s), clock);
  module->SetFetchGate(gate.gate());
  gate.set_epoch(1);
  module->PollOnce();  // stepped without Start, as tests do
  ASSERT_EQ(record->starts.load(), 1);
  // The module stops the push before its members (the sink's lock) go,
  // not the source's own destructor after them.
  module.reset();
  EXPECT_EQ(record->stops.load(), 1);
  EXPECT_FALSE(record->destroyed_while_pushing.load());
}

TEST(PriceModuleUngatedPush, StartPushesIntoIngestAsBefore) {
  FakeClock clock;
  auto s = std::make_unique<FakePushSource>();
  FakePushSource* source = s.get();
  PriceModule module(Config(), std::move(s), clock);
  module.Start();
  ASSERT_TRUE(clock.AwaitSleeper());
  EXPECT_EQ(source->starts(), 1);
  ASSERT_TRUE(source->Push({MakeTick("BTC-USDT", "64000")}));
  source->AwaitDelivered();
  ASSERT_NE(module.Latest("BTC-USDT"), nullptr);
  EXPECT_EQ(module.Latest("BTC-USDT")->last.ToString(), "64000");
  module.Stop();
  EXPECT_EQ(source->stops(), 1);
  EXPECT_EQ(source->double_starts(), 0);
}

}  // namespace
}  // namespace xctl
