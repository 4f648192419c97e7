// PriceFanout: each strategy gets only the ticks of its pairs, in batch
// order; strategies share a few subscriptions (one per shard in use, none
// once the last leaves); Close stops every delivery.
#include "server/strategy/price_fanout.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/clock.h"
#include "server/price/price_source.h"

namespace xctl {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class NoPrices : public PriceSource {
 public:
  absl::string_view name() const override { return "none"; }
  absl::StatusOr<std::vector<Tick>> Fetch(const std::vector<std::string>&) override {
    return std::vector<Tick>();
  }
};

class PriceFanoutTest : public ::testing::Test {
 protected:
  PriceFanoutTest() : prices_(Config(), std::make_unique<NoPrices>(), clock_) {}

  static PriceConfig Config() {
    PriceConfig config;
    config.pairs = {"BTC-USDT", "ETH-USDT", "SOL-USDT"};
    return config;
  }

  static StrategyEntryPtr Entry(const std::string& id) {
    return std::make_shared<StrategyEntry>(StrategyRecord{.id = id});
  }

  void Record(StrategyEntry& e, const std::vector<TickPtr>& ticks) {
    const std::string id = e.id();
    absl::MutexLock lock(&mu_);
    for (const TickPtr& t : ticks) seen_[id].push_back(t->pair + ":" + t->last.ToString());
  }

  std::vector<std::string> Seen(const std::string& id) {
    absl::MutexLock lock(&mu_);
    return seen_[id];
  }

  // Waits for the dispatcher threads to deliver (no time passes for the module).
  bool WaitFor(const std::function<bool()>& cond) {
    for (int i = 0; i < 500 && !cond(); ++i) absl::SleepFor(absl::Milliseconds(10));
    return cond();
  }

  FakeClock clock_;
  PriceModule prices_;
  PriceFanout fanout_{&prices_, [this](StrategyEntry& e, const std::vector<TickPtr>& ticks) {
                        Record(e, ticks);
                      }};
  absl::Mutex mu_;
  std::map<std::string, std::vector<std::string>> seen_ ABSL_GUARDED_BY(mu_);
};

TEST_F(PriceFanoutTest, EachStrategyGetsTheTicksOfItsPairsInBatchOrder) {
  StrategyEntryPtr a = Entry("a"), b = Entry("b");
  auto feed_a = fanout_.Join(a, "a", {"BTC-USDT", "ETH-USDT"});
  auto feed_b = fanout_.Join(b, "b", {"ETH-USDT"});
  prices_.Ingest({Tick{.pair = "ETH-USDT", .last = Decimal::FromInt(5)},
                  Tick{.pair = "SOL-USDT", .last = Decimal::FromInt(7)},
                  Tick{.pair = "BTC-USDT", .last = Decimal::FromInt(100)}});
  ASSERT_TRUE(WaitFor([&] { return Seen("a").size() == 2 && Seen("b").size() == 1; }));
  EXPECT_THAT(Seen("a"), ElementsAre("ETH-USDT:5", "BTC-USDT:100"));
  EXPECT_THAT(Seen("b"), ElementsAre("ETH-USDT:5"));
}

TEST_F(PriceFanoutTest, StrategiesShareSubscriptionsAndTheLastToLeaveDropsThem) {
  const size_t before = prices_.subscriber_count();
  std::vector<StrategyEntryPtr> entries;
  std::vector<std::unique_ptr<TickFeed>> feeds;
  for (int i = 0; i < 100; ++i) {
    const std::string id = "s" + std::to_string(i);
    entries.push_back(Entry(id));
    feeds.push_back(fanout_.Join(entries.back(), id, {"BTC-USDT"}));
  }
  EXPECT_LE(prices_.subscriber_count(), before + PriceFanout::kShards);
  EXPECT_EQ(prices_.subscriber_count(), before + fanout_.subscribed_shards());

  feeds.erase(feeds.begin() + 1, feeds.end());
  prices_.Ingest({Tick{.pair = "BTC-USDT", .last = Decimal::FromInt(1)}});
  ASSERT_TRUE(WaitFor([&] { return Seen("s0").size() == 1; }));
  EXPECT_EQ(prices_.subscriber_count(), before + 1);
  EXPECT_THAT(Seen("s1"), IsEmpty());  // left before the tick

  feeds.clear();
  EXPECT_EQ(prices_.subscriber_count(), before);
  EXPECT_EQ(fanout_.subscribed_shards(), 0);
}

TEST_F(PriceFanoutTest, NothingIsDeliveredAfterClose) {
  const size_t before = prices_.subscriber_count();
  StrategyEntryPtr a = Entry("a");
  auto feed = fanout_.Join(a, "a", {"BTC-USDT"});
  EXPECT_EQ(prices_.subscriber_count(), before + 1);
  fanout_.Close();  // waits for running callbacks
  EXPECT_EQ(fanout_.subscribed_shards(), 0);
  EXPECT_EQ(prices_.subscriber_count(), before);  // no subscriber left to deliver
  auto late = fanout_.Join(Entry("b"), "b", {"BTC-USDT"});
  EXPECT_EQ(prices_.subscriber_count(), before);  // a closed fan-out subscribes no more
  feed.reset();  // leaving a closed fan-out is fine
  late.reset();
}

}  // namespace
}  // namespace xctl
