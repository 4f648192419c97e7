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
