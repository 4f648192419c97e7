// The blofin-ws price source against the fake BloFin's public WebSocket
// (tests/fake_blofin/fake_ws.py) over real loopback sockets: pushes, and
// each fault the fake injects (index.md, "WebSocket" > "WS Tickers Channel",
// "Rate Limits" > "WebSocket Connection Management").
#include "server/price/blofin_ws_source.h"

#include <functional>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/price/price_module.h"
#include "tests/support/fake_blofin.h"

namespace xctl {
namespace {

using xctl::testing::FakeBlofin;

Decimal D(absl::string_view s) { return Decimal::Parse(s).value(); }

// Waits for `done` (a condition another thread makes true), at most `limit`.
bool WaitUntil(const std::function<bool()>& done, absl::Duration limit = absl::Seconds(15)) {
  const absl::Time end = absl::Now() + limit;
  while (!done()) {
    if (absl::Now() > end) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

// What the source hands to its sink (PriceModule::Ingest in xctld).
class Sink {
 public:
  PriceSource::PushSink sink() {
    return [this](std::vector<Tick> ticks) {
      absl::MutexLock lock(&mu_);
      for (Tick& t : ticks) ticks_.push_back(std::move(t));
    };
  }
  // Waits until a tick of `pair` with last price `last` arrived.
  bool WaitForLast(const std::string& pair, const std::string& last) {
    return WaitUntil([&] { return CountLast(pair, last) > 0; });
  }
  int CountLast(const std::string& pair, const std::string& last) {
    absl::MutexLock lock(&mu_);
    int n = 0;
    for (const Tick& t : ticks_) n += t.pair == pair && t.last == D(last);
    return n;
  }
  std::vector<Tick> ticks() {
    absl::MutexLock lock(&mu_);
    return ticks_;
  }

 private:
  absl::Mutex mu_;
  std::vector<Tick> ticks_ ABSL_GUARDED_BY(mu_);
};

class BlofinWsSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fake_.ok()) << "the fake BloFin with its WebSocket did not start (is "
                               "PyPI's websockets in <repo>/.venv? scripts/setup)";
    // Tests change prices faster than BloFin's one push a second, and
    // reconnect faster than its one connection a second.
    ASSERT_TRUE(fake_.WsControl(R"({"push_interval_ms":0,"connect_interval_ms":0})"));
  }

  std::unique_ptr<BlofinWsSource> Make(Clock& clock, int ping_after_ms = 20'000,
                                       int backoff_min_ms = 20, int backoff_max_ms = 200) {
    BlofinWsSource::Options o{.ws_url = fake_.ws_url(), .ping_after_ms = ping_after_ms,
                              .connect_timeout_ms = 3000, .backoff_min_ms = backoff_min_ms,
                              .backoff_max_ms = backoff_max_ms, .refresh_ms = 0};
    auto rest = std::make_unique<BlofinRestSource>(
        fake_.base_url(), 3000, clock, RequestLimits{},
        std::make_shared<RequestBudget>(fake_.base_url(), RequestLimits{}, &clock));
    return std::make_unique<BlofinWsSource>(o, std::move(rest), clock);
  }

  FakeBlofin fake_{/*websocket=*/true};
  Sink sink_;
  const std::vector<std::string> pairs_ = {"BTC-USDT", "ETH-USDT"};
};

TEST_F(BlofinWsSourceTest, SnapshotThenPushesOnOneSubscribedConnection) {
  auto source = Make(SystemClock());
  source->StartPushing(pairs_, sink_.sink());
  // The REST snapshot taken on connect: the fake's default prices.
  ASSERT_TRUE(sink_.WaitForLast("BTC-USDT", "64000.2"));
  ASSERT_TRUE(sink_.WaitForLast("ETH-USDT", "3200.05"));
  ASSERT_TRUE(WaitUntil([&] { return fake_.ControlGet("ws").find(R"("ETH-USDT": 1)") !=
                                     std::string::npos; }));
  ASSERT_TRUE(fake_.SetTickers(R"({"BTC-USDT":{"bid":"65000","ask":"65000.5","last":"65000.1"},
                                  "ETH-USDT":{"last":"3200.05","bid":"3200","ask":"3200.1"}})"));
  ASSERT_TRUE(sink_.WaitForLast("BTC-USDT", "65000.1"));
  for (const Tick& t : sink_.ticks()) {
    if (t.last == D("65000.1")) {
      EXPECT_EQ(t.bid, D("65000"));
      EXPECT_EQ(t.ask, D("65000.5"));
      EXPECT_GT(t.exchange_time_ms, 0);
    }
  }
  EXPECT_EQ(fake_.WsStat("connects"), 1);
  EXPECT_EQ(fake_.Requests("GET /api/v1/market/tickers"), 1);  // one snapshot
  EXPECT_TRUE(source->Fetch(pairs_).ok());
  BlofinWsSource::Stats stats = source->stats();
  EXPECT_EQ(stats.connects, 1u);
  EXPECT_GE(stats.pushes, 1u);  // ETH did not change: only BTC was pushed
  EXPECT_EQ(stats.malformed, 0u);
  source->StopPushing();
  EXPECT_TRUE(WaitUntil([&] { return fake_.WsStat("connections") == 0; }));
}

TEST_F(BlofinWsSourceTest, DropReconnectsOnTheClockResubscribesAndTakesASnapshot) {
  FakeClock clock(absl::FromUnixMillis(1'800'000'000'000));
  auto source = Make(clock, 20'000, /*backoff_min_ms=*/1000);
  source->StartPushing(pairs_, sink_.sink());
  ASSERT_TRUE(sink_.WaitForLast("BTC-USDT", "64000.2"));
  ASSERT_TRUE(WaitUntil([&] { return fake_.ControlGet("ws").find(R"("BTC-USDT": 1)") !=
                                     std::string::npos; }));
  ASSERT_TRUE(fake_.WsControl(R"({"drop":true})"));
  // Back off 1 s on the Clock: nothing happens until it moves.
  ASSERT_TRUE(clock.AwaitSleeper());
  EXPECT_FALSE(source->Fetch(pairs_).ok());  // the poll logs the outage once
  // While disconnected the price moves: no push can bring it.
  ASSERT_TRUE(fake_.SetTickers(R"({"BTC-USDT":{"last":"66000"},"ETH-USDT":{"last":"3300"}})"));
  clock.Advance(absl::Milliseconds(500));
  ASSERT_TRUE(clock.AwaitSleeper());
  EXPECT_EQ(fake_.WsStat("connects"), 1);
  clock.Advance(absl::Milliseconds(500));
  // Reconnected, resubscribed, and the snapshot brought the new prices.
  ASSERT_TRUE(sink_.WaitForLast("BTC-USDT", "66000"));
  ASSERT_TRUE(sink_.WaitForLast("ETH-USDT", "3300"));
  EXPECT_EQ(fake_.WsStat("connects"), 2);
  EXPECT_EQ(fake_.Requests("GET /api/v1/market/tickers"), 2);
  ASSERT_TRUE(WaitUntil([&] { return fake_.ControlGet("ws").find(R"("BTC-USDT": 1)") !=
                                     std::string::npos; }));
  EXPECT_TRUE(source->Fetch(pairs_).ok());
  // Pushes flow again on the new connection.
  ASSERT_TRUE(fake_.SetTickers(R"({"BTC-USDT":{"last":"66001"},"ETH-USDT":{"last":"3300"}})"));
  ASSERT_TRUE(sink_.WaitForLast("BTC-USDT", "66001"));
  EXPECT_EQ(source->stats().disconnects, 1u);
  source->StopPushing();  // wakes the thread wherever it waits
}

TEST_F(BlofinWsSourceTest, AFailingConnectBacksOffDoublingOnTheClock) {
  FakeClock clock;
  auto source = Make(clock, 20'000, /*backoff_min_ms=*/1000, /*backoff_max_ms=*/4000);
  // Handshakes refused: the fake keeps "1 new connection per second per IP"
  // (index.md, "Connection Limits"), here one a minute, and the first of the
  // minute is taken now.
  ASSERT_TRUE(fake_.WsControl(R"({"connect_interval_ms":60000})"));
  {
    WebSocketClient first;
    ASSERT_TRUE(first.Connect(fake_.ws_url()).ok());
  }
  source->StartPushing(pairs_, sink_.sink());
  ASSERT_TRUE(clock.AwaitSleeper());
  EXPECT_EQ(source->stats().connect_failures, 1u);
  absl::Status down = source->Fetch(pairs_).status();
  EXPECT_EQ(down.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(down.message(), ::testing::HasSubstr("blofin-ws: websocket 127.0.0.1"));
  clock.Advance(absl::Seconds(1));  // the first back-off: 1 s
  ASSERT_TRUE(WaitUntil([&] { return source->stats().connect_failures == 2; }));
  ASSERT_TRUE(clock.AwaitSleeper());
  clock.Advance(absl::Seconds(1));  // the second: 2 s, so not yet
  ASSERT_TRUE(clock.AwaitSleeper());
  EXPECT_EQ(source->stats().connect_failures, 2u);
  clock.Advance(absl::Seconds(1));
  ASSERT_TRUE(WaitUntil([&] { return source->stats().connect_failures == 3; }));
  EXPECT_EQ(fake_.WsStat("refused"), 3);
  EXPECT_TRUE(sink_.ticks().empty());  // no connection, no snapshot
  source->StopPushing();
}

TEST_F(BlofinWsSourceTest, StallIsFoundByThePingDeadlineAndReconnected) {
  auto source = Make(SystemClock(), /*ping_after_ms=*/150);
  source->StartPushing(pairs_, sink_.sink());
  ASSERT_TRUE(sink_.WaitForLast("BTC-USDT", "64000.2"));
  // Silence: 'ping' after 150 ms, answered 'pong'.
  ASSERT_TRUE(WaitUntil([&] { return source->stats().pongs >= 1; }));
  ASSERT_TRUE(fake_.WsControl(R"({"stall":true})"));
  ASSERT_TRUE(WaitUntil([&] { return source->stats().stalls >= 1; }));
  ASSERT_TRUE(fake_.WsControl(R"({"stall":false})"));
  ASSERT_TRUE(WaitUntil([&] { return fake_.WsStat("connections") == 1 &&
                                     source->stats().connects >= 2; }));
  ASSERT_TRUE(fake_.SetTickers(R"({"BTC-USDT":{"last":"64100"},"ETH-USDT":{"last":"3200"}})"));
  ASSERT_TRUE(sink_.WaitForLast("BTC-USDT", "64100"));
  EXPECT_GE(fake_.WsStat("pings"), 1);
}

TEST_F(BlofinWsSourceTest, MalformedPushesAreCountedAndDroppedNeverPriced) {
  auto source = Make(SystemClock());
  source->StartPushing(pairs_, sink_.sink());
  ASSERT_TRUE(sink_.WaitForLast("BTC-USDT", "64000.2"));
  ASSERT_TRUE(fake_.WsControl(R"({"malformed":"{\"arg\":{\"channel\":\"tickers\",\"inst"})"));
  ASSERT_TRUE(fake_.WsControl(
      R"({"malformed":"{\"arg\":{\"channel\":\"tickers\",\"instId\":\"BTC-USDT\"},\"data\":[{\"instId\":\"BTC-USDT\",\"last\":\"-5\"}]}"})"));
  ASSERT_TRUE(fake_.WsControl(
      R"({"malformed":"{\"arg\":{\"channel\":\"tickers\",\"instId\":\"BTC-USDT\"},\"data\":[{\"instId\":\"ETH-USDT\",\"last\":\"1\"}]}"})"));
  ASSERT_TRUE(WaitUntil([&] { return source->stats().malformed == 3; }));
  // The connection stays; later pushes are used.
  ASSERT_TRUE(fake_.SetTickers(R"({"BTC-USDT":{"last":"64200"},"ETH-USDT":{"last":"3200"}})"));
  ASSERT_TRUE(sink_.WaitForLast("BTC-USDT", "64200"));
  for (const Tick& t : sink_.ticks()) {
    EXPECT_TRUE(t.last.is_positive());
    EXPECT_FALSE(t.pair == "ETH-USDT" && t.last == D("1"));
  }
  EXPECT_EQ(source->stats().connects, 1u);
}

// Through the PriceModule (MakePriceSource from the config, as xctld does):
// a quiet pair on a live connection does not go stale; a stalled connection
// makes it stale; after the reconnect it recovers at once.
TEST_F(BlofinWsSourceTest, ThroughThePriceModuleNoPairIsLeftStale) {
  PriceConfig config;
  config.source = "blofin-ws";
  config.pairs = pairs_;
  config.interval_ms = 100;
  config.stale_after_intervals = 4;  // stale after 400 ms; 'ping' after 200 ms of silence
  config.blofin_url = fake_.base_url();
  config.blofin_ws_url = fake_.ws_url();
  ASSERT_TRUE(ValidatePriceConfig(config).ok());
  auto source = MakePriceSource(config);
  ASSERT_TRUE(source.ok()) << source.status();
  PriceModule prices(config, *std::move(source));
  EXPECT_EQ(prices.source_name(), "blofin-ws");
  prices.Start();
  ASSERT_TRUE(WaitUntil([&] { return prices.Latest("ETH-USDT") != nullptr; }));
  // Quiet market for six pings (1.2 s, three staleness limits): not stale.
  ASSERT_TRUE(WaitUntil([&] { return fake_.WsStat("pings") >= 6; }));
  EXPECT_FALSE(prices.Latest("BTC-USDT")->stale);
  EXPECT_FALSE(prices.Latest("ETH-USDT")->stale);
  const uint64_t before = prices.Latest("BTC-USDT")->sequence;
  ASSERT_TRUE(fake_.WsControl(R"({"stall":true})"));
  ASSERT_TRUE(WaitUntil([&] { return prices.Latest("BTC-USDT")->stale; }));
  ASSERT_TRUE(fake_.WsControl(R"({"stall":false})"));
  ASSERT_TRUE(WaitUntil([&] {
    return !prices.Latest("BTC-USDT")->stale && !prices.Latest("ETH-USDT")->stale;
  }));
  EXPECT_EQ(prices.Latest("BTC-USDT")->last, D("64000.2"));
  EXPECT_EQ(prices.Latest("BTC-USDT")->sequence, before + 2);  // stale, then recovered
  prices.Stop();
}

}  // namespace
}  // namespace xctl
