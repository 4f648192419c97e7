#include "server/price/replay_source.h"

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace xctl {
namespace {

using ::testing::HasSubstr;

TEST(ReplayCsv, ParsesRowsAndSortsThemByTime) {
  auto rows = ParseReplayCsv(
      "timestamp_ms,pair,bid,ask,last\n"
      "2000,BTC-USDT,99,101,100\n"
      "1000,ETH-USDT,,,50\n",
      "t.csv");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].pair, "ETH-USDT");
  EXPECT_FALSE((*rows)[0].bid.has_value());
  EXPECT_EQ((*rows)[1].ask, Decimal::FromInt(101));
}

TEST(ReplayCsv, ErrorsNameTheLine) {
  auto bad = ParseReplayCsv("1000,BTC-USDT,1,2,3\n1001,btc,1,2,3\n", "t.csv");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("t.csv:2"));
  auto fields = ParseReplayCsv("1000,BTC-USDT,1\n", "t.csv");
  EXPECT_THAT(fields.status().message(), HasSubstr("3 fields"));
  auto price = ParseReplayCsv("1000,BTC-USDT,1,2,-3\n", "t.csv");
  EXPECT_THAT(price.status().message(), HasSubstr("bad last price"));
}

TEST(ReplaySource, PlaysAtRecordedSpeedTimesTheFactor) {
  std::string path = ::testing::TempDir() + "/replay.csv";
  {
    std::ofstream out(path);
    out << "0,BTC-USDT,,,100\n1000,BTC-USDT,,,101\n2000,BTC-USDT,,,102\n";
  }
  FakeClock clock;
  auto source = ReplaySource::Open(path, 2.0, clock);  // twice as fast
  ASSERT_TRUE(source.ok()) << source.status();
  auto t0 = (*source)->Fetch({"BTC-USDT"}).value();
  ASSERT_EQ(t0.size(), 1u);
  EXPECT_EQ(t0[0].last, Decimal::FromInt(100));
  clock.Advance(absl::Milliseconds(499));
  EXPECT_TRUE((*source)->Fetch({"BTC-USDT"})->empty());  // 998 ms of recording
  clock.Advance(absl::Milliseconds(600));  // 2198 ms: both later rows; newest wins
  auto t1 = (*source)->Fetch({"BTC-USDT"}).value();
  ASSERT_EQ(t1.size(), 1u);
  EXPECT_EQ(t1[0].last, Decimal::FromInt(102));
  EXPECT_FALSE(ReplaySource::Open("/nonexistent.csv", 1.0).ok());
}

}  // namespace
}  // namespace xctl
