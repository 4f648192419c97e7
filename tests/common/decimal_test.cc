#include "server/common/decimal.h"

#include <limits>

#include "gtest/gtest.h"

namespace xctl {
namespace {

Decimal D(absl::string_view s) { return Decimal::Parse(s).value(); }

TEST(DecimalParse, PlainNotationRoundTrips) {
  for (absl::string_view s : {"0", "1", "-1", "64000.5", "0.000000001",
                             "-0.001", "9223372036.854775807", "12.3456789"}) {
    EXPECT_EQ(D(s).ToString(), s) << s;
  }
  EXPECT_EQ(D("+1.50").ToString(), "1.5");
  EXPECT_EQ(D("007").ToString(), "7");
  EXPECT_EQ(D(".5").ToString(), "0.5");
  EXPECT_EQ(D("5.").ToString(), "5");
  EXPECT_EQ(D("-0").ToString(), "0");
  EXPECT_EQ(D("1.1000000000000").ToString(), "1.1");  // zeros past 9 places
}

TEST(DecimalParse, RejectsWhatIsNotPlainNotation) {
  for (absl::string_view s : {"", "-", ".", "1e5", "NaN", "inf", "1.2.3", " 1",
                             "1 ", "0x10", "1,5", "1.0000000001",
                             "9223372037", "-9223372037", "99999999999999999999999"}) {
    auto r = Decimal::Parse(s);
    EXPECT_FALSE(r.ok()) << s;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_NE(r.status().message().find("invalid decimal"), std::string::npos);
    }
  }
}

TEST(DecimalArithmetic, MulRoundsHalfToEven) {
  EXPECT_EQ(Decimal::Mul(D("64000.5"), D("0.01")).ToString(), "640.005");
  // 0.000000001 * 0.5 = 0.0000000005 -> ties to even (0)
  EXPECT_EQ(Decimal::Mul(D("0.000000001"), D("0.5")).ToString(), "0");
  // 0.000000003 * 0.5 = 0.0000000015 -> ties to even (0.000000002)
  EXPECT_EQ(Decimal::Mul(D("0.000000003"), D("0.5")).ToString(), "0.000000002");
  EXPECT_EQ(Decimal::Mul(D("-0.000000003"), D("0.5")).ToString(), "-0.000000002");
  EXPECT_EQ(Decimal::Mul(D("-2"), D("3.25")).ToString(), "-6.5");
}

TEST(DecimalArithmetic, DivAndMulDiv) {
  EXPECT_EQ(Decimal::Div(D("1"), D("3")).ToString(), "0.333333333");
  EXPECT_EQ(Decimal::Div(D("2"), D("3")).ToString(), "0.666666667");
  EXPECT_EQ(Decimal::Div(D("1"), D("0")).ToString(), "0");
  // notional / leverage: 0.01 BTC x 64000 / 10
  EXPECT_EQ(Decimal::MulDiv(D("0.01"), D("64000"), D("10")).ToString(), "64");
  // Large intermediate product stays exact in 128 bits.
  EXPECT_EQ(Decimal::MulDiv(D("9000000000"), D("9000000000"), D("9000000000"))
                .ToString(),
            "9000000000");
}

TEST(DecimalArithmetic, MultiplesAndComparison) {
  EXPECT_TRUE(D("0.3").IsMultipleOf(D("0.1")));
  EXPECT_FALSE(D("0.35").IsMultipleOf(D("0.1")));
  EXPECT_FALSE(D("1").IsMultipleOf(D("0")));
  EXPECT_LT(D("-1"), D("0.5"));
  EXPECT_EQ(D("1.50"), D("1.5"));
  EXPECT_EQ((D("1.25") - D("2")).ToString(), "-0.75");
  EXPECT_EQ(D("-3").Abs(), D("3"));
}

}  // namespace
}  // namespace xctl

namespace xctl {
namespace {

// Found by fuzz/decimal_fuzz.cc: overflow saturated to INT64_MIN units, which
// cannot be negated or parsed back.
TEST(DecimalArithmetic, OverflowSaturatesToAValueThatNegatesAndRoundTrips) {
  const Decimal big = Decimal::Parse("9000000000").value();
  for (Decimal d : {Decimal::Mul(-big, big), Decimal::Mul(big, big), Decimal::Div(-big, Decimal::FromUnits(1)),
                    Decimal::MulDiv(-big, big, Decimal::FromUnits(1))}) {
    EXPECT_EQ(Decimal::Parse(d.ToString()).value(), d) << d.ToString();
    EXPECT_EQ(-(-d), d);
    EXPECT_EQ(d.Abs().units(), std::numeric_limits<int64_t>::max());
  }
}

}  // namespace
}  // namespace xctl
