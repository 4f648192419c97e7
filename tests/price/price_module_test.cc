// PriceModule: cache, bus, conflation, staleness, fault handling, isolation.
#include "server/price/price_module.h"

#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/price/simulated_source.h"
#include "spdlog/sinks/ringbuffer_sink.h"
#include "spdlog/spdlog.h"

namespace xctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Decimal D(absl::string_view s) { return Decimal::Parse(s).value(); }

Tick MakeTick(const std::string& pair, absl::string_view last) {
  Tick t;
  t.pair = pair;
  t.last = D(last);
  t.bid = D(last) - D("0.5");
  t.ask = D(last) + D("0.5");
  return t;
}

// A source whose answers the test sets.
class ScriptedSource : public PriceSource {
 public:
  absl::string_view name() const override { return "scripted"; }
  absl::StatusOr<std::vector<Tick>> Fetch(const std::vector<std::string>&) override {
    ++fetches;
    if (!next_status.ok()) return next_status;
    return next;
  }
  int RetryAfterMs() const override { return retry_after_ms; }
  std::vector<Tick> next;
  absl::Status next_status;
  int retry_after_ms = 0;
  std::atomic<int> fetches{0};
};

PriceConfig Config(std::vector<std::string> pairs = {"BTC-USDT", "ETH-USDT"}) {
  PriceConfig c;
  c.pairs = std::move(pairs);
  c.interval_ms = 100;
  c.stale_after_intervals = 3;
  return c;
}

struct Fixture {
  explicit Fixture(PriceConfig config = Config()) {
    auto s = std::make_unique<ScriptedSource>();
    source = s.get();
    module = std::make_unique<PriceModule>(config, std::move(s), clock);
  }
  FakeClock clock;
  ScriptedSource* source;
  std::unique_ptr<PriceModule> module;
};

TEST(PriceModule, PollOnceCachesEveryConfiguredPairWithSequenceAndReceiveTime) {
  Fixture f;
  f.source->next = {MakeTick("BTC-USDT", "64000"), MakeTick("ETH-USDT", "3200"),
                    MakeTick("DOGE-USDT", "0.1")};  // not configured: ignored
  f.module->PollOnce();
  TickPtr btc = f.module->Latest("BTC-USDT");
  ASSERT_NE(btc, nullptr);
  EXPECT_EQ(btc->last, D("64000"));
  EXPECT_EQ(btc->sequence, 1u);
  EXPECT_EQ(btc->receive_time_ms, f.clock.NowMillis());
  EXPECT_FALSE(btc->stale);
  EXPECT_EQ(f.module->Latest("DOGE-USDT"), nullptr);
  EXPECT_EQ(f.module->Snapshot().size(), 2u);
  EXPECT_EQ(f.module->Snapshot({"ETH-USDT"}).size(), 1u);
}

TEST(PriceModule, UnchangedTicksAreNotRepublished) {
  Fixture f;
  auto sub = f.module->Subscribe({}, nullptr);
  f.source->next = {MakeTick("BTC-USDT", "64000")};
  f.module->PollOnce();
  f.module->PollOnce();  // same prices
  TickBatch batch = sub->Drain();
  ASSERT_EQ(batch.ticks.size(), 1u);
  EXPECT_EQ(batch.conflated, 0u);
  EXPECT_EQ(f.module->Latest("BTC-USDT")->sequence, 1u);
  f.source->next = {MakeTick("BTC-USDT", "64001")};
  f.module->PollOnce();
  batch = sub->Drain();
  ASSERT_EQ(batch.ticks.size(), 1u);
  EXPECT_EQ(batch.ticks[0]->sequence, 2u);
  EXPECT_EQ(f.module->stats().published, 2u);
}

TEST(PriceModule, EverySubscriberGetsEveryBatchFilteredToItsPairs) {
  Fixture f;
  std::vector<std::unique_ptr<Subscription>> subs;
  std::atomic<int> notified{0};
  for (int i = 0; i < 100; ++i) {
    subs.push_back(f.module->Subscribe({}, [&] { ++notified; }));
  }
  auto eth_only = f.module->Subscribe({"ETH-USDT"}, nullptr);
  f.source->next = {MakeTick("BTC-USDT", "64000"), MakeTick("ETH-USDT", "3200")};
  f.module->PollOnce();
  EXPECT_EQ(notified.load(), 100);  // one notification each for the batch
  for (auto& s : subs) EXPECT_EQ(s->Drain().ticks.size(), 2u);
  TickBatch eth = eth_only->Drain();
  ASSERT_EQ(eth.ticks.size(), 1u);
  EXPECT_EQ(eth.ticks[0]->pair, "ETH-USDT");
}

TEST(PriceModule, ASlowSubscriberIsConflatedToTheNewestTickPerPair) {
  Fixture f;
  auto slow = f.module->Subscribe({}, nullptr);
  auto fast = f.module->Subscribe({}, nullptr);
  for (int i = 1; i <= 5; ++i) {
    f.source->next = {MakeTick("BTC-USDT", std::to_string(64000 + i)),
                      MakeTick("ETH-USDT", std::to_string(3200 + i))};
    f.module->PollOnce();
    EXPECT_EQ(fast->Drain().ticks.size(), 2u);
  }
  TickBatch batch = slow->Drain();
  ASSERT_EQ(batch.ticks.size(), 2u);  // bounded: one per pair
  EXPECT_EQ(batch.ticks[0]->last, D("64005"));
  EXPECT_EQ(batch.ticks[1]->last, D("3205"));
  EXPECT_EQ(batch.conflated, 8u);  // 4 older ticks of each pair never seen
  EXPECT_EQ(slow->total_conflated(), 8u);
  EXPECT_EQ(fast->total_conflated(), 0u);
}

TEST(PriceModule, ALaggingSubscriberTakesTheNewestBatchWholeWhenItPricesEveryPair) {
  Fixture f;
  auto slow = f.module->Subscribe({}, nullptr);
  for (int i = 1; i <= 3; ++i) {
    f.source->next = {MakeTick("BTC-USDT", std::to_string(64000 + i)),
                      MakeTick("ETH-USDT", std::to_string(3200 + i))};
    f.module->PollOnce();
  }
  // Every batch priced both configured pairs: the newest replaced the rest,
  // and is handed over as published (shared by every such subscriber).
  TickBatch batch = slow->Drain();
  ASSERT_NE(batch.whole, nullptr);
  ASSERT_EQ(batch.ticks.size(), 2u);
  EXPECT_EQ(batch.ticks[0], f.module->Latest("BTC-USDT"));
  EXPECT_EQ(batch.ticks[1], f.module->Latest("ETH-USDT"));
  EXPECT_EQ(batch.conflated, 4u);
  // A batch of one pair cannot replace the other: ticks are merged per pair.
  f.source->next = {MakeTick("BTC-USDT", "64010"), MakeTick("ETH-USDT", "3210")};
  f.module->PollOnce();
  f.source->next = {MakeTick("BTC-USDT", "64011"), MakeTick("ETH-USDT", "3210")};
  f.module->PollOnce();  // only BTC changed
  batch = slow->Drain();
  EXPECT_EQ(batch.whole, nullptr);
  ASSERT_EQ(batch.ticks.size(), 2u);
  EXPECT_EQ(batch.ticks[0]->last, D("64011"));
  EXPECT_EQ(batch.ticks[1]->last, D("3210"));
  EXPECT_EQ(batch.conflated, 1u);
  EXPECT_EQ(slow->total_conflated(), 5u);
}

TEST(PriceModule, PairsWithoutUpdatesGoStaleAndRecover) {
  Fixture f;
  auto sub = f.module->Subscribe({}, nullptr);
  f.source->next = {MakeTick("BTC-USDT", "64000"), MakeTick("ETH-USDT", "3200")};
  f.module->PollOnce();
  sub->Drain();
  f.source->next = {MakeTick("ETH-USDT", "3200")};  // BTC stops updating
  for (int i = 0; i < 3; ++i) {
    f.clock.Advance(absl::Milliseconds(100));
    f.module->PollOnce();
  }
  EXPECT_FALSE(f.module->Latest("BTC-USDT")->stale);  // exactly 3 intervals: not yet
  f.clock.Advance(absl::Milliseconds(1));
  f.module->PollOnce();
  TickPtr btc = f.module->Latest("BTC-USDT");
  EXPECT_TRUE(btc->stale);
  EXPECT_EQ(btc->last, D("64000"));  // last good price kept
  EXPECT_FALSE(f.module->Latest("ETH-USDT")->stale);
  TickBatch batch = sub->Drain();
  ASSERT_EQ(batch.ticks.size(), 1u);
  EXPECT_TRUE(batch.ticks[0]->stale);

  f.source->next = {MakeTick("BTC-USDT", "64000"), MakeTick("ETH-USDT", "3200")};
  f.module->PollOnce();  // same price, but it recovers: published again
  batch = sub->Drain();
  ASSERT_EQ(batch.ticks.size(), 1u);
  EXPECT_FALSE(batch.ticks[0]->stale);
  EXPECT_EQ(batch.ticks[0]->sequence, 3u);
}

TEST(PriceModule, SourceErrorsKeepLastPricesAndLogOncePerStateChange) {
  auto ring = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(100);
  auto logger = std::make_shared<spdlog::logger>("test", ring);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(logger);
  Fixture f;
  f.source->next = {MakeTick("BTC-USDT", "64000")};
  f.module->PollOnce();
  f.source->next_status = absl::UnavailableError("blofin tickers: HTTP 500");
  for (int i = 0; i < 5; ++i) f.module->PollOnce();
  EXPECT_EQ(f.module->Latest("BTC-USDT")->last, D("64000"));
  EXPECT_EQ(f.module->stats().fetch_errors, 5u);
  f.source->next_status = absl::OkStatus();
  f.module->PollOnce();
  f.module->PollOnce();
  int errors = 0, recovered = 0;
  for (const auto& line : ring->last_formatted()) {
    if (line.find("event=price_source_error") != std::string::npos) ++errors;
    if (line.find("event=price_source_recovered") != std::string::npos) ++recovered;
  }
  spdlog::set_default_logger(previous);
  EXPECT_EQ(errors, 1);
  EXPECT_EQ(recovered, 1);
}

TEST(PriceModule, RateLimitDelaysTheNextPoll) {
  PriceConfig c = Config();
  FakeClock clock;
  auto s = std::make_unique<ScriptedSource>();
  ScriptedSource* source = s.get();
  source->next = {MakeTick("BTC-USDT", "64000")};
  source->next_status = absl::ResourceExhaustedError("rate limited");
  source->retry_after_ms = 1000;
  PriceModule module(c, std::move(s), clock);
  module.Start();
  // 100 ms interval, but the 429 asked for 1 s: no poll until 1 s has
  // passed on the module's clock, then the next one.
  for (int ms = 0; ms < 1000; ms += 50) {
    ASSERT_TRUE(clock.AwaitSleeper()) << "at " << ms << " ms";
    EXPECT_EQ(source->fetches.load(), 1) << "at " << ms << " ms";
    clock.Advance(absl::Milliseconds(50));
  }
  ASSERT_TRUE(clock.AwaitSleeper());
  EXPECT_EQ(source->fetches.load(), 2);
  module.Stop();
}

// The poll loop runs on the module's Clock: one poll per interval of that
// clock's time, none while it stands still.
TEST(PriceModule, ThePollLoopPollsOncePerIntervalOfItsClock) {
  PriceConfig c = Config();
  FakeClock clock;
  auto s = std::make_unique<ScriptedSource>();
  ScriptedSource* source = s.get();
  source->next = {MakeTick("BTC-USDT", "64000")};
  PriceModule module(c, std::move(s), clock);
  module.Start();
  for (int polls = 1; polls <= 10; ++polls) {
    ASSERT_TRUE(clock.AwaitSleeper()) << "poll " << polls;
    EXPECT_EQ(source->fetches.load(), polls);
    clock.Advance(absl::Milliseconds(c.interval_ms / 2));  // half an interval: nothing
    ASSERT_TRUE(clock.AwaitSleeper());
    EXPECT_EQ(source->fetches.load(), polls);
    clock.Advance(absl::Milliseconds(c.interval_ms / 2));
  }
  module.Stop();
}

TEST(PriceModule, ACallbackThatThrowsDoesNotStopTheOthers) {
  Fixture f;
  std::atomic<int> thrown{0};
  auto bad = f.module->SubscribeCallback({}, [&](const std::vector<TickPtr>&) {
    ++thrown;
    throw std::runtime_error("strategy bug");
  });
  absl::Notification got;
  auto ok = f.module->SubscribeCallback({}, [&](const std::vector<TickPtr>& ticks) {
    // Ticks may conflate; the newest price must arrive.
    if (ticks.back()->last == D("2") && !got.HasBeenNotified()) got.Notify();
  });
  f.source->next = {MakeTick("BTC-USDT", "1")};
  f.module->PollOnce();
  f.source->next = {MakeTick("BTC-USDT", "2")};
  f.module->PollOnce();
  EXPECT_TRUE(got.WaitForNotificationWithTimeout(absl::Seconds(5)));
  // The throwing one runs on the other dispatcher thread, maybe later.
  for (int i = 0; i < 500 && thrown.load() == 0; ++i) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_GE(thrown.load(), 1);
}

TEST(PriceModule, NoCallbackRunsAfterItsHandleIsDestroyed) {
  Fixture f;
  std::atomic<bool> destroyed{false};
  std::atomic<int> after{0};
  auto sub = f.module->SubscribeCallback({}, [&](const std::vector<TickPtr>&) {
    absl::SleepFor(absl::Milliseconds(20));  // a slow strategy
    if (destroyed) ++after;
  });
  std::thread publisher([&] {
    for (int i = 0; i < 50; ++i) {
      f.source->next = {MakeTick("BTC-USDT", std::to_string(100 + i))};
      f.module->PollOnce();
      absl::SleepFor(absl::Milliseconds(2));
    }
  });
  absl::SleepFor(absl::Milliseconds(30));
  sub.reset();  // waits for a running callback
  destroyed = true;
  publisher.join();
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(after.load(), 0);
  EXPECT_EQ(f.module->subscriber_count(), 0u);
}

TEST(PriceModule, SubscribingAndUnsubscribingWhilePublishingIsSafe) {
  Fixture f;
  std::atomic<bool> stop{false};
  std::thread publisher([&] {
    int i = 0;
    while (!stop) {
      f.source->next = {MakeTick("BTC-USDT", std::to_string(1000 + (i++ % 50))),
                        MakeTick("ETH-USDT", std::to_string(2000 + (i % 7)))};
      f.module->PollOnce();
    }
  });
  std::vector<std::thread> churn;
  std::atomic<uint64_t> received{0};
  for (int t = 0; t < 6; ++t) {
    churn.emplace_back([&, t] {
      for (int k = 0; k < 200; ++k) {
        if (t % 2) {
          auto s = f.module->Subscribe({}, nullptr);
          received += s->Drain().ticks.size();
        } else {
          auto s = f.module->SubscribeCallback({}, [&](const std::vector<TickPtr>& ticks) {
            received += ticks.size();
          });
        }
      }
    });
  }
  for (auto& t : churn) t.join();
  stop = true;
  publisher.join();
  EXPECT_EQ(f.module->subscriber_count(), 0u);
  EXPECT_GT(f.module->stats().published, 0u);
}

TEST(SimulatedSource, SameSeedSamePricesWhateverThePairOrder) {
  FakeClock clock;
  SimulatedSource a(7, clock), b(7, clock), c(8, clock);
  auto ta = a.Fetch({"BTC-USDT", "ETH-USDT"}).value();
  auto tb = b.Fetch({"ETH-USDT", "BTC-USDT"}).value();
  auto tc = c.Fetch({"BTC-USDT", "ETH-USDT"}).value();
  EXPECT_EQ(ta[0].last, tb[1].last);
  EXPECT_EQ(ta[1].last, tb[0].last);
  EXPECT_NE(ta[0].last, tc[0].last);
  for (const Tick& t : ta) {
    ASSERT_TRUE(t.bid && t.ask);
    EXPECT_LT(*t.bid, *t.ask);
    EXPECT_LE(*t.bid, t.last);
    EXPECT_LE(t.last, *t.ask);
  }
  // A BTC spread of about 1 bp: a few dollars, not zero, not hundreds.
  Decimal spread = *ta[0].ask - *ta[0].bid;
  EXPECT_GT(spread, D("1"));
  EXPECT_LT(spread, D("20"));
}

}  // namespace
}  // namespace xctl
