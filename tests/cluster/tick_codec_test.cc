// The tick codec: round trips that keep every field (timestamps, sequence,
// stale flag, absent book), rejection of malformed bytes without crashing,
// the follower's batch ordering, and the subject and lease names.
#include "server/cluster/tick_codec.h"

#include <functional>
#include <random>

#include "absl/strings/match.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/cluster/subjects.h"
#include "xctl/cluster/v1/cluster.pb.h"

namespace xctl::cluster {
namespace {

using ::testing::HasSubstr;

Decimal D(absl::string_view s) { return Decimal::Parse(s).value(); }

Tick MakeTick(const std::string& pair, absl::string_view last) {
  Tick t;
  t.pair = pair;
  t.bid = D("64000.5");
  t.ask = D("64001.000000001");
  t.last = D(last);
  t.exchange_time_ms = 1'700'000'000'123;
  t.receive_time_ms = 1'700'000'000'456;
  t.sequence = 42;
  t.stale = false;
  return t;
}

TickBatchHeader Header(int64_t epoch = 3, uint64_t seq = 7) {
  return TickBatchHeader{.publisher = "xctld-a-1234",
                         .leader_epoch = epoch,
                         .batch_sequence = seq,
                         .publish_time_ms = 1'700'000'000'999};
}

void ExpectSameTick(const Tick& got, const Tick& want) {
  EXPECT_EQ(got.pair, want.pair);
  EXPECT_EQ(got.bid, want.bid);
  EXPECT_EQ(got.ask, want.ask);
  EXPECT_EQ(got.last, want.last);
  EXPECT_EQ(got.exchange_time_ms, want.exchange_time_ms);
  EXPECT_EQ(got.receive_time_ms, want.receive_time_ms);
  EXPECT_EQ(got.sequence, want.sequence);
  EXPECT_EQ(got.stale, want.stale);
}

std::string ValidBytes() {
  std::vector<Tick> ticks = {MakeTick("BTC-USDT", "64000.7"), MakeTick("ETH-USDT", "3000")};
  return EncodeTickBatch(Header(), ticks).value();
}

TEST(TickCodecTest, RoundTrip_KeepsEveryFieldOfEveryTick) {
  Tick btc = MakeTick("BTC-USDT", "64000.7");
  Tick eth = MakeTick("ETH-USDT", "3000.25");
  eth.bid.reset();  // no book: only `last`
  eth.ask.reset();
  eth.stale = true;
  eth.sequence = 18446744073709551615ull;
  eth.exchange_time_ms = 0;
  Tick pepe = MakeTick("1000PEPE-USDT", "0.000000001");
  pepe.bid = D("0");
  std::vector<TickPtr> ticks = {std::make_shared<const Tick>(btc),
                                std::make_shared<const Tick>(eth),
                                std::make_shared<const Tick>(pepe)};
  auto bytes = EncodeTickBatch(Header(), ticks);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  auto decoded = DecodeTickBatch(*bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->header, Header());
  ASSERT_EQ(decoded->ticks.size(), 3u);
  ExpectSameTick(decoded->ticks[0], btc);
  ExpectSameTick(decoded->ticks[1], eth);
  ExpectSameTick(decoded->ticks[2], pepe);
  EXPECT_FALSE(decoded->ticks[1].bid.has_value());
  EXPECT_TRUE(decoded->ticks[2].bid.has_value());  // zero bid is present, not absent
}

TEST(TickCodecTest, RoundTrip_EmptyBatchCarriesOnlyTheHeader) {
  auto bytes = EncodeTickBatch(Header(9, 1), absl::Span<const Tick>());
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  auto decoded = DecodeTickBatch(*bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->header, Header(9, 1));
  EXPECT_TRUE(decoded->ticks.empty());
}

TEST(TickCodecTest, Encode_RefusesWhatTheDecoderWouldRefuse) {
  std::vector<Tick> ok = {MakeTick("BTC-USDT", "1")};
  EXPECT_EQ(EncodeTickBatch(Header(0, 1), ok).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodeTickBatch(Header(1, 0), ok).status().code(),
            absl::StatusCode::kInvalidArgument);
  TickBatchHeader no_publisher = Header();
  no_publisher.publisher.clear();
  EXPECT_EQ(EncodeTickBatch(no_publisher, ok).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<Tick> bad_pair = {MakeTick("btc.usdt", "1")};
  EXPECT_EQ(EncodeTickBatch(Header(), bad_pair).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<Tick> twice = {MakeTick("BTC-USDT", "1"), MakeTick("BTC-USDT", "2")};
  EXPECT_THAT(EncodeTickBatch(Header(), twice).status().message(), HasSubstr("twice"));
  std::vector<Tick> negative = {MakeTick("BTC-USDT", "-1")};
  EXPECT_EQ(EncodeTickBatch(Header(), negative).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<TickPtr> null = {nullptr};
  EXPECT_EQ(EncodeTickBatch(Header(), null).status().code(), absl::StatusCode::kInvalidArgument);
}

// Bytes that are not a TickBatch at all.
TEST(TickCodecTest, Decode_GarbageAndEmptyBytes_AreInvalidArgument) {
  for (const std::string& bytes :
       {std::string(), std::string("\xff\xff\xff\xff\xff", 5), std::string("hello world"),
        std::string(1, '\x0a'), std::string("\x0a\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80", 11)}) {
    auto decoded = DecodeTickBatch(bytes);
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument)
        << "bytes of size " << bytes.size();
  }
}

TEST(TickCodecTest, Decode_OversizeInput_IsRefusedBeforeParsing) {
  std::string huge(kMaxTickBatchBytes + 1, '\0');
  auto decoded = DecodeTickBatch(huge);
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(decoded.status().message(), HasSubstr("at most"));
}

// Every truncation and every single-byte corruption of a valid message
// decodes to an error or to a batch that passes validation; never a crash.
TEST(TickCodecTest, Decode_TruncatedOrCorruptedBytes_NeverCrash) {
  const std::string valid = ValidBytes();
  ASSERT_TRUE(DecodeTickBatch(valid).ok());
  int refused = 0;
  for (size_t n = 0; n < valid.size(); ++n) {
    auto decoded = DecodeTickBatch(absl::string_view(valid).substr(0, n));
    if (!decoded.ok()) {
      EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
      ++refused;
    }
  }
  EXPECT_GT(refused, 0);
  std::mt19937 rng(7);
  for (int i = 0; i < 5000; ++i) {
    std::string bytes = valid;
    bytes[rng() % bytes.size()] = static_cast<char>(rng() % 256);
    auto decoded = DecodeTickBatch(bytes);
    if (decoded.ok()) {
      for (const Tick& t : decoded->ticks) {
        EXPECT_FALSE(t.last.is_negative());
        EXPECT_GE(t.exchange_time_ms, 0);
      }
      EXPECT_GT(decoded->header.leader_epoch, 0);
    } else {
      EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
}

// Well-formed protobuf that breaks xctl's rules, one rule at a time.
TEST(TickCodecTest, Decode_ValidProtobufBreakingTheRules_IsInvalidArgument) {
  auto base = [] {
    v1::TickBatch b;
    b.set_publisher("leader");
    b.set_leader_epoch(1);
    b.set_batch_sequence(1);
    b.set_publish_time_ms(1);
    v1::Tick* t = b.add_ticks();
    t->set_pair("BTC-USDT");
    t->set_last("1.5");
    return b;
  };
  struct Case {
    const char* name;
    std::function<void(v1::TickBatch&)> mutate;
    const char* message;
  };
  std::vector<Case> cases = {
      {"no publisher", [](v1::TickBatch& b) { b.clear_publisher(); }, "publisher"},
      {"long publisher", [](v1::TickBatch& b) { b.set_publisher(std::string(200, 'p')); },
       "publisher"},
      {"binary publisher", [](v1::TickBatch& b) { b.set_publisher(std::string("a\xff\0b", 4)); },
       "printable ASCII"},
      {"non-UTF-8 pair", [](v1::TickBatch& b) { b.mutable_ticks(0)->set_pair("\xc3\x28"); },
       "tick 0"},
      {"zero epoch", [](v1::TickBatch& b) { b.set_leader_epoch(0); }, "leader_epoch"},
      {"negative epoch", [](v1::TickBatch& b) { b.set_leader_epoch(-5); }, "leader_epoch"},
      {"zero sequence", [](v1::TickBatch& b) { b.set_batch_sequence(0); }, "batch_sequence"},
      {"negative publish time", [](v1::TickBatch& b) { b.set_publish_time_ms(-1); },
       "publish_time_ms"},
      {"bad pair", [](v1::TickBatch& b) { b.mutable_ticks(0)->set_pair("BTC.USDT"); }, "tick 0"},
      {"wildcard pair", [](v1::TickBatch& b) { b.mutable_ticks(0)->set_pair(">"); }, "tick 0"},
      {"missing last", [](v1::TickBatch& b) { b.mutable_ticks(0)->clear_last(); },
       "last price missing"},
      {"bad last", [](v1::TickBatch& b) { b.mutable_ticks(0)->set_last("1e5"); }, "last"},
      {"bad bid", [](v1::TickBatch& b) { b.mutable_ticks(0)->set_bid("NaN"); }, "bid"},
      {"empty ask", [](v1::TickBatch& b) { b.mutable_ticks(0)->set_ask(""); }, "ask"},
      {"negative last", [](v1::TickBatch& b) { b.mutable_ticks(0)->set_last("-3"); },
       "negative price"},
      {"negative time",
       [](v1::TickBatch& b) { b.mutable_ticks(0)->set_receive_time_ms(-1); },
       "negative timestamp"},
      {"duplicate pair", [](v1::TickBatch& b) { *b.add_ticks() = b.ticks(0); }, "twice"},
  };
  {
    std::string bytes;
    ASSERT_TRUE(base().SerializeToString(&bytes));
    ASSERT_TRUE(DecodeTickBatch(bytes).ok()) << DecodeTickBatch(bytes).status();
  }
  for (const Case& c : cases) {
    v1::TickBatch b = base();
    c.mutate(b);
    std::string bytes;
    ASSERT_TRUE(b.SerializeToString(&bytes)) << c.name;
    auto decoded = DecodeTickBatch(bytes);
    ASSERT_FALSE(decoded.ok()) << c.name;
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_THAT(decoded.status().message(), HasSubstr(c.message)) << c.name;
  }
}

TEST(TickCodecTest, Decode_TooManyTicks_IsInvalidArgument) {
  v1::TickBatch b;
  b.set_publisher("leader");
  b.set_leader_epoch(1);
  b.set_batch_sequence(1);
  for (size_t i = 0; i <= kMaxTicksPerBatch; ++i) {
    v1::Tick* t = b.add_ticks();
    t->set_pair("A" + std::to_string(i) + "-USDT");
    t->set_last("1");
  }
  std::string bytes;
  ASSERT_TRUE(b.SerializeToString(&bytes));
  auto decoded = DecodeTickBatch(bytes);
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(decoded.status().message(), HasSubstr("ticks, at most"));
}

TEST(TickBatchOrderTest, AppliesNewerDropsDuplicatesAndDeposedLeaders) {
  struct Step {
    int64_t epoch;
    uint64_t seq;
    TickBatchOrder::Verdict want;
  };
  using V = TickBatchOrder::Verdict;
  const std::vector<Step> steps = {
      {2, 1, V::kApply},       // first batch seen
      {2, 2, V::kApply},       // next
      {2, 2, V::kDuplicate},   // redelivered
      {2, 1, V::kDuplicate},   // reordered
      {2, 5, V::kApply},       // 3 and 4 lost: two gaps
      {1, 9, V::kStaleEpoch},  // the deposed leader still publishing
      {3, 1, V::kApply},       // a new leader starts over at 1
      {2, 6, V::kStaleEpoch},  // the old one again
      {3, 2, V::kApply},
  };
  TickBatchOrder order;
  for (size_t i = 0; i < steps.size(); ++i) {
    TickBatchHeader h = Header(steps[i].epoch, steps[i].seq);
    EXPECT_EQ(order.Check(h), steps[i].want) << "step " << i;
  }
  EXPECT_EQ(order.gaps(), 2u);
  EXPECT_EQ(order.epoch(), 3);
  EXPECT_EQ(order.last_sequence(), 2u);
}

TEST(SubjectsTest, PriceSubjectsAreBuiltFromValidPairsOnly) {
  EXPECT_EQ(PriceSubject("BTC-USDT").value(), "xctl.prices.BTC-USDT");
  EXPECT_EQ(PriceSubject("1000PEPE-USDT").value(), "xctl.prices.1000PEPE-USDT");
  for (const char* bad : {"", "BTC.USDT", "BTC-USDT.>", "*", ">", "btc-usdt", "BTC USDT"}) {
    EXPECT_EQ(PriceSubject(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(PairOfPriceSubject("xctl.prices.ETH-USDT"), "ETH-USDT");
  EXPECT_EQ(PairOfPriceSubject("xctl.prices.ETH-USDT.x"), std::nullopt);
  EXPECT_EQ(PairOfPriceSubject("xctl.prices."), std::nullopt);
  EXPECT_EQ(PairOfPriceSubject(kPriceBatchSubject), std::nullopt);
  EXPECT_EQ(PairOfPriceSubject("xctl.positions.BTC-USDT"), std::nullopt);
  // A wildcard over per-pair subjects must not match the batch subject.
  EXPECT_FALSE(absl::StartsWith(kPriceBatchSubject, kPricePrefix));
}

TEST(SubjectsTest, StrategySubjectsAndLeaseNames) {
  EXPECT_EQ(PositionSubject("aibot-1").value(), "xctl.positions.aibot-1");
  EXPECT_EQ(KpiSubject("aibot-1").value(), "xctl.kpis.aibot-1");
  EXPECT_EQ(StrategyLeaseName("aibot-1").value(), "strategy:aibot-1");
  EXPECT_EQ(StrategyOfLeaseName("strategy:aibot-1"), "aibot-1");
  EXPECT_EQ(StrategyOfLeaseName(kPriceLeaderLease), std::nullopt);
  EXPECT_EQ(StrategyOfLeaseName("strategy:"), std::nullopt);
  for (const char* bad : {"", "a.b", "A", "x*", "-lead"}) {
    EXPECT_FALSE(PositionSubject(bad).ok()) << bad;
    EXPECT_FALSE(StrategyLeaseName(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace xctl::cluster
