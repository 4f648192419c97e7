// The messages of BloFin's public WebSocket, in the docs' own example shapes
// (index.md, "WebSocket" > "Subscribe", "WS Tickers Channel").
#include "server/price/blofin_ws_messages.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/price/blofin_ws_source.h"
#include "server/price/price_config.h"

namespace xctl {
namespace {

using Kind = BlofinWsMessage::Kind;
Decimal D(absl::string_view s) { return Decimal::Parse(s).value(); }

TEST(ParseBlofinWsMessage, TheDocsPushExampleIsOneTick) {
  // index.md, "WS Tickers Channel", "Push Data Example".
  auto m = ParseBlofinWsMessage(R"({
    "arg": {"channel": "tickers", "instId": "BTC-USDT"},
    "data": [{"instId": "BTC-USDT", "last": "9999.99", "lastSize": "0.1",
              "askPrice": "9999.99", "askSize": "11", "bidPrice": "8888.88", "bidSize": "5",
              "open24h": "9000", "high24h": "10000", "low24h": "8888.88",
              "volCurrency24h": "2222", "vol24h": "2222", "ts": "1597026383085"}]})");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->kind, Kind::kTickers);
  EXPECT_EQ(m->inst_id, "BTC-USDT");
  ASSERT_EQ(m->ticks.size(), 1u);
  EXPECT_EQ(m->ticks[0].pair, "BTC-USDT");
  EXPECT_EQ(m->ticks[0].last, D("9999.99"));
  EXPECT_EQ(m->ticks[0].bid, D("8888.88"));
  EXPECT_EQ(m->ticks[0].ask, D("9999.99"));
  EXPECT_EQ(m->ticks[0].exchange_time_ms, 1597026383085);
}

TEST(ParseBlofinWsMessage, AcknowledgementsErrorsAndPong) {
  // index.md, "WS Tickers Channel": "Response Example", "Failure Response Example".
  auto ack = ParseBlofinWsMessage(
      R"({"event": "subscribe", "arg": {"channel": "tickers", "instId": "BTC-USDT"}})");
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack->kind, Kind::kSubscribed);
  EXPECT_EQ(ack->inst_id, "BTC-USDT");
  auto unsub = ParseBlofinWsMessage(
      R"({"event": "unsubscribe", "arg": {"channel": "tickers", "instId": "ETH-USDT"}})");
  ASSERT_TRUE(unsub.ok());
  EXPECT_EQ(unsub->kind, Kind::kUnsubscribed);
  auto error = ParseBlofinWsMessage(
      R"({"event": "error", "code": "60012", "msg": "Invalid request: {\"op\": \"subscribe\"}"})");
  ASSERT_TRUE(error.ok());
  EXPECT_EQ(error->kind, Kind::kError);
  EXPECT_EQ(error->code, "60012");
  EXPECT_THAT(error->msg, ::testing::HasSubstr("Invalid request"));
  // index.md, "WebSocket Connection Management": 'ping' is answered 'pong'.
  auto pong = ParseBlofinWsMessage("pong");
  ASSERT_TRUE(pong.ok());
  EXPECT_EQ(pong->kind, Kind::kPong);
}

TEST(ParseBlofinWsMessage, MalformedMessagesHaveAStableReasonAndNoPrice) {
  const std::pair<const char*, const char*> cases[] = {
      {"{\"arg\":{\"channel\":\"tickers\",\"instId\":\"BTC-US", "not_json"},
      {"<html>", "not_json"},
      {"[1,2]", "not_object"},
      {"{}", "unknown_message"},
      {R"({"arg":{"channel":"books5","instId":"BTC-USDT"},"data":[{}]})", "unknown_message"},
      {R"({"arg":{"channel":"tickers"},"data":[]})", "bad_arg"},
      {R"({"event":"subscribe"})", "bad_arg"},
      {R"({"arg":{"channel":"tickers","instId":"BTC-USDT"}})", "no_data"},
      {R"({"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[]})", "no_data"},
      {R"({"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":{"last":"1"}})", "no_data"},
      {R"({"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","last":"-5"}]})",
       "bad_ticker"},
      {R"({"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","last":"x"}]})",
       "bad_ticker"},
      // A push whose entry is another pair's: never priced as arg's pair.
      {R"({"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"instId":"ETH-USDT","last":"3"}]})",
       "bad_ticker"},
      // One bad entry rejects the whole push.
      {R"({"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","last":"1"},{"last":"2"}]})",
       "bad_ticker"},
  };
  for (const auto& [text, reason] : cases) {
    auto m = ParseBlofinWsMessage(text);
    ASSERT_FALSE(m.ok()) << text;
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_EQ(BlofinWsMalformedReason(m.status()), reason) << text << ": " << m.status();
  }
}

TEST(BlofinWsSubscribeRequests, OneRequestUntilTheArgsPass4096Bytes) {
  // index.md, "Subscribe": the channels of one request at most 4,096 bytes.
  auto one = BlofinWsSubscribeRequests({"BTC-USDT", "ETH-USDT"});
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0],
            R"({"op":"subscribe","args":[{"channel":"tickers","instId":"BTC-USDT"},)"
            R"({"channel":"tickers","instId":"ETH-USDT"}]})");
  std::vector<std::string> many;
  for (int i = 0; i < 300; ++i) many.push_back("P" + std::to_string(i) + "-USDT");
  auto split = BlofinWsSubscribeRequests(many);
  ASSERT_GT(split.size(), 1u);
  size_t args = 0;
  for (const std::string& request : split) {
    const size_t open = request.find('[');
    EXPECT_LE(request.size() - open - 1, 4096u);  // "[...]" of the args
    for (size_t at = request.find("instId"); at != std::string::npos;
         at = request.find("instId", at + 1)) {
      ++args;
    }
  }
  EXPECT_EQ(args, many.size());
}

TEST(BlofinWsSource, BackOffDoublesFromOneSecondUpToTheCap) {
  BlofinWsSource::Options o;  // 1 s (one new connection a second per IP), cap 30 s
  EXPECT_EQ(BlofinWsSource::BackoffMs(o, 1), 1000);
  EXPECT_EQ(BlofinWsSource::BackoffMs(o, 2), 2000);
  EXPECT_EQ(BlofinWsSource::BackoffMs(o, 5), 16000);
  EXPECT_EQ(BlofinWsSource::BackoffMs(o, 6), 30000);
  EXPECT_EQ(BlofinWsSource::BackoffMs(o, 60), 30000);
}

TEST(BlofinWsPingAfterMs, HalfTheStalenessLimitAtMost20Seconds) {
  PriceConfig c;  // 1000 ms x 5
  EXPECT_EQ(BlofinWsPingAfterMs(c), 2500);
  c.interval_ms = 10'000;
  EXPECT_EQ(BlofinWsPingAfterMs(c), 20'000);  // index.md: less than 30 s
  c.interval_ms = 50;
  c.stale_after_intervals = 1;
  EXPECT_EQ(BlofinWsPingAfterMs(c), 25);
}

}  // namespace
}  // namespace xctl
