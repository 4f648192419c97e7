// The BloFin price source against the local BloFin-compatible server: parsing,
// every fault, and exactly one upstream request per interval whatever the
// number of subscribers.
#include "server/price/blofin_source.h"

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/price/price_module.h"
#include "tests/support/fake_blofin.h"

namespace xctl {
namespace {

using ::testing::HasSubstr;
using xctl::testing::FakeBlofin;

constexpr char kTickers[] = "/api/v1/market/tickers";
Decimal D(absl::string_view s) { return Decimal::Parse(s).value(); }

TEST(ParseBlofinTickers, PicksTheConfiguredPairs) {
  auto ticks = ParseBlofinTickers(
      R"({"code":"0","msg":"success","data":[
        {"instId":"BTC-USDT","last":"64000.5","bidPrice":"64000","askPrice":"64001","ts":"1700000000000"},
        {"instId":"XRP-USDT","last":"0.5","bidPrice":"0.4","askPrice":"0.6","ts":"1"},
        {"instId":"ETH-USDT","last":"3200","ts":"1700000000001"}]})",
      {"BTC-USDT", "ETH-USDT"});
  ASSERT_TRUE(ticks.ok()) << ticks.status();
  ASSERT_EQ(ticks->size(), 2u);
  EXPECT_EQ((*ticks)[0].pair, "BTC-USDT");
  EXPECT_EQ((*ticks)[0].bid, D("64000"));
  EXPECT_EQ((*ticks)[0].ask, D("64001"));
  EXPECT_EQ((*ticks)[0].last, D("64000.5"));
  EXPECT_EQ((*ticks)[0].exchange_time_ms, 1700000000000);
  EXPECT_FALSE((*ticks)[1].bid.has_value());  // no book: fills use last
}

TEST(ParseBlofinTickers, ErrorsSayWhatIsWrong) {
  auto code = ParseBlofinTickers(R"({"code":"152001","msg":"Parameter error","data":[]})", {});
  EXPECT_EQ(code.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(code.status().message(), HasSubstr("code 152001: Parameter error"));
  auto limited = ParseBlofinTickers(R"({"code":"429","msg":"Too Many Requests"})", {});
  EXPECT_EQ(limited.status().code(), absl::StatusCode::kResourceExhausted);
  auto html = ParseBlofinTickers("<html>", {});
  EXPECT_THAT(html.status().message(), HasSubstr("malformed response"));
  auto partial = ParseBlofinTickers(R"({"code":"0","data":[{"instId":"BTC-US)", {});
  EXPECT_THAT(partial.status().message(), HasSubstr("malformed response"));
  auto no_data = ParseBlofinTickers(R"({"code":"0","msg":"ok"})", {});
  EXPECT_THAT(no_data.status().message(), HasSubstr("no \"data\" array"));
  // A bad price in one entry skips that entry only.
  auto one_bad = ParseBlofinTickers(
      R"({"code":"0","data":[{"instId":"BTC-USDT","last":"NaN"},{"instId":"ETH-USDT","last":"1"}]})",
      {"BTC-USDT", "ETH-USDT"});
  ASSERT_TRUE(one_bad.ok());
  ASSERT_EQ(one_bad->size(), 1u);
  EXPECT_EQ((*one_bad)[0].pair, "ETH-USDT");
}

class BlofinSourceTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.ok()) << "fake BloFin server did not start"; }
  FakeBlofin server_;
};

TEST_F(BlofinSourceTest, FetchesTickersOverHttp) {
  ASSERT_TRUE(server_.SetTickers(R"({"BTC-USDT":{"bid":"100","ask":"101","last":"100.5"}})"));
  BlofinRestSource source(server_.base_url(), 2000);
  auto ticks = source.Fetch({"BTC-USDT", "ETH-USDT"});
  ASSERT_TRUE(ticks.ok()) << ticks.status();
  ASSERT_EQ(ticks->size(), 1u);  // ETH not listed any more
  EXPECT_EQ((*ticks)[0].last, D("100.5"));
  auto listed = source.ListedPairs();
  ASSERT_TRUE(listed.ok());
  EXPECT_THAT(*listed, ::testing::Contains("BTC-USDT"));
}

TEST_F(BlofinSourceTest, EveryFaultIsAClearStatus) {
  FakeClock clock(absl::Now());  // the budget's: back-offs pass when it is moved
  BlofinRestSource source(server_.base_url(), 500, clock, {},
                          std::make_shared<RequestBudget>(server_.base_url(), RequestLimits{},
                                                          &clock));
  ASSERT_TRUE(server_.Fault(kTickers, "http_500"));
  EXPECT_THAT(source.Fetch({"BTC-USDT"}).status().message(), HasSubstr("HTTP 500"));
  ASSERT_TRUE(server_.Fault(kTickers, "http_429", 1, R"("retry_after":3)"));
  auto limited = source.Fetch({"BTC-USDT"});
  EXPECT_EQ(limited.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(source.RetryAfterMs(), 3000);
  clock.Advance(absl::Seconds(3));
  // index.md "Risk Control Restrictions": a 403 is a five-minute ban; the
  // budget sends nothing to the host before it passes.
  ASSERT_TRUE(server_.Fault(kTickers, "http_403"));
  EXPECT_THAT(source.Fetch({"BTC-USDT"}).status().message(), HasSubstr("HTTP 403"));
  const int sent = server_.Requests("GET /api/v1/market/tickers");
  EXPECT_THAT(source.Fetch({"BTC-USDT"}).status().message(), HasSubstr("back off (HTTP 403)"));
  EXPECT_EQ(server_.Requests("GET /api/v1/market/tickers"), sent);
  clock.Advance(absl::Minutes(5));
  ASSERT_TRUE(server_.Fault(kTickers, "malformed"));
  EXPECT_THAT(source.Fetch({"BTC-USDT"}).status().message(), HasSubstr("malformed"));
  ASSERT_TRUE(server_.Fault(kTickers, "partial"));
  EXPECT_THAT(source.Fetch({"BTC-USDT"}).status().message(), HasSubstr("malformed"));
  ASSERT_TRUE(server_.Fault(kTickers, "code", 1, R"("code":"152001","msg":"Parameter error")"));
  EXPECT_THAT(source.Fetch({"BTC-USDT"}).status().message(), HasSubstr("152001"));
  ASSERT_TRUE(server_.Fault(kTickers, "timeout", 1, R"("delay_ms":1500)"));
  auto slow = source.Fetch({"BTC-USDT"});
  EXPECT_EQ(slow.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(slow.status().message(), HasSubstr("no answer within 500 ms"));
  // And it recovers.
  EXPECT_TRUE(source.Fetch({"BTC-USDT"}).ok());
}

TEST(BlofinSourceDown, AnExchangeThatIsDownIsUnavailable) {
  BlofinRestSource source("http://127.0.0.1:1", 500);
  auto r = source.Fetch({"BTC-USDT"});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("blofin tickers"));
}

TEST_F(BlofinSourceTest, FaultsLeaveTheLastGoodPricesInTheCache) {
  PriceConfig c;
  c.source = "blofin";
  c.pairs = {"BTC-USDT", "ETH-USDT"};
  c.interval_ms = 100;
  c.blofin_url = server_.base_url();
  FakeClock clock;
  PriceModule module(c, std::make_unique<BlofinRestSource>(server_.base_url(), 1000, clock), clock);
  module.PollOnce();
  ASSERT_NE(module.Latest("BTC-USDT"), nullptr);
  Decimal before = module.Latest("BTC-USDT")->last;
  for (const char* kind : {"http_500", "malformed", "partial", "http_429"}) {
    ASSERT_TRUE(server_.Fault(kTickers, kind));
    module.PollOnce();
    ASSERT_NE(module.Latest("BTC-USDT"), nullptr) << kind;
    EXPECT_EQ(module.Latest("BTC-USDT")->last, before) << kind;
  }
  EXPECT_EQ(module.stats().fetch_errors, 4u);
}

// The product's promise: whatever the number of consumers, one request per
// interval reaches the exchange.
void ExpectOneRequestPerInterval(FakeBlofin& server, int subscribers) {
  PriceConfig c;
  c.source = "blofin";
  c.pairs = {"BTC-USDT", "ETH-USDT", "SOL-USDT"};
  c.interval_ms = 100;
  c.blofin_url = server.base_url();
  // The poll loop runs on this clock: ten intervals pass without a sleep.
  FakeClock clock;
  auto budget = std::make_shared<RequestBudget>("fake", RequestLimits{}, &clock);
  PriceModule module(
      c, std::make_unique<BlofinRestSource>(server.base_url(), 2000, clock, RequestLimits{}, budget),
      clock);
  std::vector<std::unique_ptr<Subscription>> subs;
  std::atomic<uint64_t> delivered{0};
  for (int i = 0; i < subscribers; ++i) {
    if (i % 2) {
      subs.push_back(module.Subscribe({}, nullptr));
    } else {
      subs.push_back(module.SubscribeCallback(
          {}, [&](const std::vector<TickPtr>& t) { delivered += t.size(); }));
    }
  }
  const int before = server.Requests("GET /api/v1/market/tickers");
  module.Start();
  constexpr int kIntervals = 10;
  for (int i = 0; i < kIntervals; ++i) {
    ASSERT_TRUE(clock.AwaitSleeper());
    // Half an interval: no request.
    clock.Advance(absl::Milliseconds(c.interval_ms / 2));
    ASSERT_TRUE(clock.AwaitSleeper());
    EXPECT_EQ(server.Requests("GET /api/v1/market/tickers") - before, i + 1);
    clock.Advance(absl::Milliseconds(c.interval_ms / 2));
  }
  ASSERT_TRUE(clock.AwaitSleeper());
  module.Stop();
  // Every poll is exactly one request, and there is one poll per interval.
  const int requests = server.Requests("GET /api/v1/market/tickers") - before;
  EXPECT_EQ(requests, kIntervals + 1);
  EXPECT_EQ(static_cast<uint64_t>(requests), module.stats().fetches);
  EXPECT_EQ(module.subscriber_count(), static_cast<size_t>(subscribers));
}

TEST_F(BlofinSourceTest, OneUpstreamRequestPerIntervalWithOneSubscriber) {
  ExpectOneRequestPerInterval(server_, 1);
}

TEST_F(BlofinSourceTest, OneUpstreamRequestPerIntervalWithAThousandSubscribers) {
  ExpectOneRequestPerInterval(server_, 1000);
}

}  // namespace
}  // namespace xctl

namespace xctl {
namespace {

// Found by fuzz/blofin_tickers_fuzz.cc: deep nesting overflowed the stack of
// the recursive JSON parser; the parse is iterative now.
TEST(ParseBlofinTickers, AMalformedTimestampIsIgnoredNotHalfRead) {
  auto ticks = ParseBlofinTickers(
      R"({"code":"0","data":[{"instId":"BTC-USDT","last":"1","ts":"12abc"},)"
      R"({"instId":"ETH-USDT","last":"2","ts":"-5"}]})",
      {"BTC-USDT", "ETH-USDT"});
  ASSERT_TRUE(ticks.ok()) << ticks.status();
  ASSERT_EQ(ticks->size(), 2u);
  EXPECT_EQ((*ticks)[0].exchange_time_ms, 0);
  EXPECT_EQ((*ticks)[1].exchange_time_ms, 0);
}

TEST(ParseBlofinTickers, DeepNestingIsAnErrorNotACrash) {
  const std::string deep(400000, '[');
  auto parsed = ParseBlofinTickers(deep, {"BTC-USDT"});
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace xctl

namespace xctl {
namespace {

// index.md, "GET Funding Rate" and "GET Funding Rate History": the docs'
// response examples parse (rate signed, fundingTime in ms).
TEST(ParseBlofinFundingRates, TheDocsExamplesParse) {
  auto current = ParseBlofinFundingRates(
      R"({"code":"0","msg":"success","data":[{"instId":"BTC-USDT","fundingRate":"0.000332","fundingTime":"1703462400000"}]})");
  ASSERT_TRUE(current.ok()) << current.status();
  ASSERT_EQ(current->size(), 1u);
  EXPECT_EQ((*current)[0].pair, "BTC-USDT");
  EXPECT_EQ((*current)[0].rate, D("0.000332"));
  EXPECT_EQ((*current)[0].funding_time_ms, 1703462400000);
  auto negative = ParseBlofinFundingRates(
      R"({"code":"0","msg":"success","data":[{"instId":"BTC-USDT","fundingRate":"-0.000012345678901234","fundingTime":"1703462400000"}]})");
  ASSERT_TRUE(negative.ok()) << negative.status();
  EXPECT_EQ((*negative)[0].rate, D("-0.000012346"));  // 18 digits rounded half-even
  auto missing = ParseBlofinFundingRates(
      R"({"code":"0","msg":"success","data":[{"instId":"BTC-USDT","fundingRate":"0.0001"}]})");
  EXPECT_THAT(missing.status().message(), HasSubstr("fundingTime"));
}

// The price module reads every configured pair's rate by instId, every
// kFundingRefreshMs and again just after a settlement, within the host's
// budget; the cache keeps the settled rate for the paper exchange.
TEST_F(BlofinSourceTest, FundingRatesAreReadAtACadenceAndJustAfterEachSettlement) {
  constexpr int64_t kT = 1703462400000;
  ASSERT_TRUE(server_.Control("funding-rate",
                              R"({"BTC-USDT":{"fundingRate":"0.000332","fundingTime":"1703462400000"},
                                  "ETH-USDT":{"fundingRate":"-0.0001","fundingTime":"1703462400000"}})"));
  PriceConfig c;
  c.source = "blofin";
  c.pairs = {"BTC-USDT", "ETH-USDT"};
  c.interval_ms = 100;
  c.blofin_url = server_.base_url();
  FakeClock clock;
  clock.Set(absl::FromUnixMillis(kT - 60'000));
  auto budget = std::make_shared<RequestBudget>("fake", RequestLimits{.per_minute = 1000}, &clock);
  PriceModule module(
      c, std::make_unique<BlofinRestSource>(server_.base_url(), 2000, clock, RequestLimits{}, budget),
      clock);
  const std::string kPath = "GET /api/v1/market/funding-rate";
  const int before = server_.Requests(kPath);
  module.PollOnce();
  EXPECT_EQ(server_.Requests(kPath) - before, 2);  // one per pair, by instId
  ASSERT_TRUE(module.Current("ETH-USDT").has_value());
  EXPECT_EQ(module.Current("ETH-USDT")->rate, D("-0.0001"));
  EXPECT_EQ(module.Current("BTC-USDT")->funding_time_ms, kT);

  clock.Set(absl::FromUnixMillis(kT - 30'000));
  module.PollOnce();
  EXPECT_EQ(server_.Requests(kPath) - before, 2);  // not due yet

  ASSERT_TRUE(server_.Control("funding-rate",
                              R"({"BTC-USDT":{"fundingRate":"0.0001","fundingTime":"1703491200000"},
                                  "ETH-USDT":{"fundingRate":"0.0002","fundingTime":"1703491200000"}})"));
  clock.Set(absl::FromUnixMillis(kT + 20'000));  // just after the settlement
  module.PollOnce();
  EXPECT_EQ(server_.Requests(kPath) - before, 4);
  EXPECT_EQ(module.Current("BTC-USDT")->funding_time_ms, 1703491200000);
  std::vector<FundingRate> settled = module.Settlements("BTC-USDT", 0, kT + 20'000);
  ASSERT_EQ(settled.size(), 1u);  // the settled rate is kept for the paper exchange
  EXPECT_EQ(settled[0].rate, D("0.000332"));

  clock.Set(absl::FromUnixMillis(kT + 40'000));
  module.PollOnce();
  EXPECT_EQ(server_.Requests(kPath) - before, 4);
  clock.Set(absl::FromUnixMillis(kT + 20'000 + PriceModule::kFundingRefreshMs));
  module.PollOnce();
  EXPECT_EQ(server_.Requests(kPath) - before, 6);  // the cadence
}

TEST(FundingRates, SimulatedPricesHaveNone) {
  PriceConfig c;
  c.pairs = {"BTC-USDT"};
  FakeClock clock;
  PriceModule module(c, MakePriceSource(c).value(), clock);
  module.PollOnce();
  EXPECT_NE(module.Latest("BTC-USDT"), nullptr);
  EXPECT_FALSE(module.Current("BTC-USDT").has_value());
  EXPECT_TRUE(module.Settlements("BTC-USDT", 0, INT64_MAX).empty());
}

}  // namespace
}  // namespace xctl
