// blofin::ParseInstrument on BloFin's instruments objects: the maximum order
// sizes and the trading state that the order checks (instruments.h) use.
#include <string>

#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "server/exchange/blofin/json.h"

namespace xctl {
namespace {

Decimal D(absl::string_view s) { return Decimal::Parse(s).value(); }

absl::StatusOr<Instrument> Parse(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.c_str(), json.size());
  EXPECT_FALSE(doc.HasParseError()) << json;
  return blofin::ParseInstrument(doc);
}

// index.md, "GET Instruments", response example (comments removed).
constexpr char kDocsExample[] = R"({
  "instId": "BTC-USDT", "baseCurrency": "BTC", "quoteCurrency": "USDT",
  "contractValue": "0.001", "listTime": "1638333031000", "expireTime": "1704124800000",
  "maxLeverage": "125", "minSize": "0.1", "lotSize": "0.1", "tickSize": "0.5",
  "instType": "SWAP", "contractType": "linear", "maxLimitSize": "100000000",
  "maxMarketSize": "1000000", "state": "live", "settleCurrency": "USDT"})";

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  text.replace(text.find(from), from.size(), to);
  return text;
}

TEST(ParseInstrument, ReadsTheDocumentedExample) {
  Instrument i = Parse(kDocsExample).value();
  EXPECT_EQ(i.symbol, "BTC-USDT");
  EXPECT_EQ(i.contract_value, D("0.001"));
  EXPECT_EQ(i.tick_size, D("0.5"));
  EXPECT_EQ(i.max_leverage, D("125"));
  EXPECT_EQ(i.max_market_size, D("1000000"));
  EXPECT_EQ(i.max_limit_size, D("100000000"));
  EXPECT_TRUE(i.live);
}

TEST(ParseInstrument, SuspendedIsNotLiveAndAbsentStateIsLive) {
  EXPECT_FALSE(Parse(Replace(kDocsExample, R"("live")", R"("suspend")"))->live);
  EXPECT_TRUE(Parse(Replace(kDocsExample, R"("state": "live",)", ""))->live);
}

TEST(ParseInstrument, MaximumSizesAreOptionalButMustBePositiveNumbers) {
  Instrument no_limits = Parse(Replace(Replace(kDocsExample, R"("maxLimitSize": "100000000",)",
                                               ""),
                                       R"("maxMarketSize": "1000000",)", R"("maxMarketSize": "",)"))
                             .value();
  EXPECT_FALSE(no_limits.max_limit_size);
  EXPECT_FALSE(no_limits.max_market_size);
  for (const char* bad : {R"("0")", R"("-5")", R"("1e6")", R"("lots")"}) {
    auto r = Parse(Replace(kDocsExample, R"("1000000")", bad));
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("maxMarketSize"), std::string::npos) << r.status();
  }
}

}  // namespace
}  // namespace xctl
