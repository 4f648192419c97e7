#include "server/model/types.h"

#include "gtest/gtest.h"

namespace xctl {
namespace {

TEST(TradingTypes, NamesRoundTrip) {
  for (auto s : {OrderStatus::kOpen, OrderStatus::kPartiallyFilled,
                 OrderStatus::kFilled, OrderStatus::kCanceled,
                 OrderStatus::kRejected}) {
    EXPECT_EQ(ParseOrderStatus(ToString(s)).value(), s);
  }
  for (auto t : {OrderType::kMarket, OrderType::kLimit, OrderType::kPostOnly, OrderType::kIoc,
                 OrderType::kFok}) {
    EXPECT_EQ(ParseOrderType(ToString(t)).value(), t);
  }
  EXPECT_EQ(ToString(OrderType::kPostOnly), "post_only");
  EXPECT_EQ(ParseSide("buy").value(), Side::kBuy);
  EXPECT_EQ(ParseTradingMode("live").value(), TradingMode::kLive);
  EXPECT_EQ(ParsePositionSide("short").value(), PositionSide::kShort);
}

TEST(TradingTypes, UnknownNamesListTheValidOnes) {
  auto r = ParseOrderType("stop");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "invalid order type \"stop\": expected one of market, limit, post_only, ioc, fok");
}

}  // namespace
}  // namespace xctl
