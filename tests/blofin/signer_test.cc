// BloFin's signature: Base64 of the hex text of HMAC-SHA256(secret, prehash).
#include "server/exchange/blofin/signer.h"

#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace xctl::blofin {
namespace {

using ::testing::Contains;

TEST(BlofinSigner, MatchesAnIndependentlyComputedSignature) {
  // python3: base64.b64encode(hmac.new(b'secret', prehash, sha256).hexdigest().encode())
  EXPECT_EQ(Sign("secret", "/api/v1/trade/order?x=1POST1700000000000nonce1{\"a\":\"b\"}"),
            "MjNiNWU2MjA3YjU5OGEyZjQ5OTMxNjliYjQ1Mzc1YWM4NWExYThjZGY1NDYzNmMyMzczOGFiNzkx"
            "ZDM5NDMxNg==");
}

TEST(BlofinSigner, IsBase64OfHexSo88Characters) {
  EXPECT_EQ(Sign("k", "").size(), 88u);
  EXPECT_NE(Sign("k", "a"), Sign("k", "b"));
  EXPECT_NE(Sign("k1", "a"), Sign("k2", "a"));
}

TEST(BlofinSigner, HeadersCarryEveryPartOfThePrehash) {
  BlofinCredentials c{Secret("key"), Secret("secret"), Secret("pass")};
  auto headers = AuthHeaders(c, "POST", "/api/v1/trade/order?x=1", "{\"a\":\"b\"}",
                             1700000000000, "nonce1");
  EXPECT_THAT(headers, Contains("ACCESS-KEY: key"));
  EXPECT_THAT(headers, Contains("ACCESS-TIMESTAMP: 1700000000000"));
  EXPECT_THAT(headers, Contains("ACCESS-NONCE: nonce1"));
  EXPECT_THAT(headers, Contains("ACCESS-PASSPHRASE: pass"));
  EXPECT_THAT(headers, Contains("ACCESS-SIGN: MjNiNWU2MjA3YjU5OGEyZjQ5OTMxNjliYjQ1Mzc1YWM4NWEx"
                                "YThjZGY1NDYzNmMyMzczOGFiNzkxZDM5NDMxNg=="));
}

TEST(BlofinSigner, NoncesAreUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) EXPECT_TRUE(seen.insert(NewNonce()).second);
  EXPECT_EQ(NewNonce().size(), 32u);
}

}  // namespace
}  // namespace xctl::blofin

// Found by fuzz/blofin_objects_fuzz.cc: BloFin objects with empty ids,
// negative amounts or impossible instrument limits were accepted.
#include "rapidjson/document.h"
#include "server/exchange/blofin/json.h"

namespace xctl::blofin {
namespace {

rapidjson::Document Json(const char* text) {
  rapidjson::Document d;
  d.Parse(text);
  return d;
}

TEST(BlofinJson, RefusesEmptyIdsNegativeAmountsAndImpossibleLimits) {
  const char* order = R"({"orderId":"1","instId":"BTC-USDT","side":"buy","orderType":"market",
      "size":"1","state":"filled","filledSize":"1","averagePrice":"5"})";
  EXPECT_TRUE(ParseOrder(Json(order)).ok());
  EXPECT_FALSE(ParseOrder(Json(R"({"orderId":"1","instId":"BTC-USDT","side":"buy",
      "orderType":"garbage","size":"1","state":"filled","filledSize":"1"})")).ok());
  EXPECT_FALSE(ParseOrder(Json(R"({"orderId":"","instId":"BTC-USDT","side":"buy",
      "orderType":"market","size":"1","state":"filled","filledSize":"1"})")).ok());
  EXPECT_FALSE(ParseOrder(Json(R"({"orderId":"1","instId":"BTC-USDT","side":"buy",
      "orderType":"market","size":"-1","state":"filled","filledSize":"1"})")).ok());
  EXPECT_FALSE(ParseFill(Json(R"({"orderId":"1","tradeId":"","instId":"BTC-USDT","side":"buy",
      "fillPrice":"5","fillSize":"1","fee":"0"})")).ok());
  EXPECT_FALSE(ParseFill(Json(R"({"orderId":"1","tradeId":"t","instId":"BTC-USDT","side":"buy",
      "fillPrice":"-5","fillSize":"1","fee":"0"})")).ok());
  EXPECT_TRUE(ParsePosition(Json(R"({"instId":"BTC-USDT","positions":"-2","averagePrice":"5"})"))
                  ->position.side == PositionSide::kShort);
  EXPECT_FALSE(ParsePosition(Json(R"({"instId":"BTC-USDT","positions":"-2","averagePrice":"-5"})")).ok());
  EXPECT_FALSE(ParseInstrument(Json(R"({"instId":"X-USDT","contractValue":"1","lotSize":"1",
      "minSize":"-1","tickSize":"0.1","maxLeverage":"10"})")).ok());
  EXPECT_FALSE(ParseInstrument(Json(R"({"instId":"X-USDT","contractValue":"1","lotSize":"1",
      "minSize":"1","tickSize":"0.1","maxLeverage":"0"})")).ok());
}

}  // namespace
}  // namespace xctl::blofin
