#include "server/common/symbol.h"

#include "gtest/gtest.h"

namespace xctl {
namespace {

TEST(ValidateSymbol, AcceptsBlofinInstrumentIds) {
  for (auto s : {"BTC-USDT", "ETH-USDT", "1000PEPE-USDT", "A-B"}) {
    EXPECT_TRUE(ValidateSymbol(s).ok()) << s;
  }
}

TEST(ValidateSymbol, RejectsEverythingElseWithAClearMessage) {
  for (auto s : {"", "BTCUSDT", "btc-usdt", "-USDT", "BTC-", "BTC--USDT",
                 "BTC-USDT-SWAP", "BTC USDT", "BTC/USDT",
                 "ABCDEFGHIJKLMNOPQRSTU-USDT"}) {
    auto st = ValidateSymbol(s);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_NE(st.message().find("BTC-USDT"), std::string::npos) << st;
  }
  std::string binary("B\0TC-USDT", 9);
  EXPECT_FALSE(ValidateSymbol(binary).ok());
}

TEST(ValidateStrategyId, AcceptsLowercaseIds) {
  for (auto s : {"a", "sma-1", "tv_btc", "0x"}) {
    EXPECT_TRUE(ValidateStrategyId(s).ok()) << s;
  }
  for (auto s : {"", "-a", "_a", "A", "a b", "a/b"}) {
    EXPECT_FALSE(ValidateStrategyId(s).ok()) << s;
  }
  EXPECT_FALSE(ValidateStrategyId(std::string(65, 'a')).ok());
}

}  // namespace
}  // namespace xctl
