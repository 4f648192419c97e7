// RequestBudget on a manual clock: the host's minute window, the per-account
// trading window (index.md "Rate Limits" > "REST API Limits"), the shared
// back-off after 429/403, and the reserve that keeps background refreshes
// from starving orders. No sleeping: the clock is advanced.
#include "server/common/request_budget.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace xctl {
namespace {

using ::testing::HasSubstr;
using Kind = RequestBudget::Kind;

TEST(RequestBudget, TradingRequestsKeepToThePerAccountWindow) {
  FakeClock clock;
  RequestBudget budget("https://h", {.per_minute = 400, .trade_per_window = 3}, &clock);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(budget.Acquire(Kind::kTrade, "k1").ok());
  absl::Status fourth = budget.Acquire(Kind::kTrade, "k1");
  EXPECT_EQ(fourth.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(fourth.message(), HasSubstr("3 trading requests per 10s per account"));
  EXPECT_THAT(fourth.message(), HasSubstr("next slot in 10000 ms"));
  EXPECT_TRUE(budget.Acquire(Kind::kTrade, "k2").ok());    // another account
  EXPECT_TRUE(budget.Acquire(Kind::kPrivate, "k1").ok());  // reads are not trades
  EXPECT_FALSE(budget.Acquire(Kind::kPrivate, "k1", /*trade_window=*/true).ok());
  clock.Advance(absl::Seconds(10));
  EXPECT_TRUE(budget.Acquire(Kind::kTrade, "k1").ok());
}

TEST(RequestBudget, EveryCallerOfAHostSharesItsMinute) {
  FakeClock clock;
  RequestBudget budget("https://h", {.per_minute = 8}, &clock);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(budget.Acquire(Kind::kPublic).ok());
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(budget.Acquire(Kind::kPrivate, "k1").ok());
  EXPECT_EQ(budget.RemainingThisMinute(), 0);
  absl::Status over = budget.Acquire(Kind::kTrade, "k2");
  EXPECT_EQ(over.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(over.message(), HasSubstr("8 requests a minute"));
  clock.Advance(absl::Seconds(60));
  EXPECT_EQ(budget.RemainingThisMinute(), 8);
  EXPECT_TRUE(budget.Acquire(Kind::kTrade, "k2").ok());
}

TEST(RequestBudget, BackgroundRefreshesLeaveAQuarterForOrders) {
  FakeClock clock;
  RequestBudget budget("https://h", {.per_minute = 8}, &clock);
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(budget.Acquire(Kind::kSync).ok()) << i;
  EXPECT_EQ(budget.Acquire(Kind::kSync).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(budget.Acquire(Kind::kTrade, "k1").ok());
  EXPECT_TRUE(budget.Acquire(Kind::kTrade, "k1").ok());
  EXPECT_FALSE(budget.Acquire(Kind::kTrade, "k1").ok());
}

TEST(RequestBudget, ABackOffStopsEveryCallerUntilItPasses) {
  FakeClock clock;
  RequestBudget budget("https://h", {}, &clock);
  budget.BackOff(absl::Minutes(5), "HTTP 403");
  EXPECT_TRUE(budget.BackingOff());
  absl::Status refused = budget.Acquire(Kind::kPublic);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.message(), HasSubstr("back off (HTTP 403)"));
  EXPECT_THAT(refused.message(), HasSubstr("next slot in 300000 ms"));
  budget.BackOff(absl::Seconds(1), "HTTP 429");  // a shorter one does not shorten it
  clock.Advance(absl::Minutes(5) - absl::Milliseconds(1));
  EXPECT_FALSE(budget.Acquire(Kind::kTrade, "k").ok());
  clock.Advance(absl::Milliseconds(1));
  EXPECT_TRUE(budget.Acquire(Kind::kTrade, "k").ok());
}

TEST(RequestBudget, OneBudgetPerHostIsShared) {
  FakeClock clock;
  auto a = RequestBudget::ForHost("https://openapi.example:443/api/v1", {}, &clock);
  auto b = RequestBudget::ForHost("https://openapi.example:443", {.per_minute = 1}, &clock);
  auto other = RequestBudget::ForHost("https://demo.example", {}, &clock);
  EXPECT_EQ(b->limits().per_minute, 400);  // the first caller's
  EXPECT_EQ(a.get(), b.get());
  EXPECT_NE(a.get(), other.get());
  EXPECT_EQ(a->host(), "https://openapi.example:443");
}

}  // namespace
}  // namespace xctl
