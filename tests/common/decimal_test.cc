#include "server/common/decimal.h"

#include <fstream>
#include <limits>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/support/exact_units.h"

namespace xctl {
namespace {

using ::xctl::testing::Big;
using ::xctl::testing::InRange;
using ::xctl::testing::Pow10;
using ::xctl::testing::RoundHalfEven;
using ::xctl::testing::ToBig;
using Units = Decimal::Units;

Decimal D(absl::string_view s) { return Decimal::Parse(s).value(); }

// ---- an independent reference: exact integers (tests/support/exact_units.h) --

// The units of plain-notation `text` rounded half-even to 9 places, or
// nothing when it is not plain notation. Written from docs/decimal.md.
std::optional<Big> ReferenceUnits(const std::string& text) {
  static const std::regex kPlain(R"(([+-]?)(\d*)(?:\.(\d*))?)");
  std::smatch m;
  if (!std::regex_match(text, m, kPlain)) return std::nullopt;
  const std::string whole = m[2], frac = m[3];
  if (whole.empty() && frac.empty()) return std::nullopt;
  Big n = 0;
  for (char c : whole + frac) n = n * 10 + (c - '0');
  const int places = static_cast<int>(frac.size());
  Big units = places <= 9 ? Big(n * Pow10(9 - places)) : RoundHalfEven(n, Pow10(places - 9));
  return m[1] == "-" ? Big(-units) : units;
}

// Whether `text` has more than 9 significant fraction digits.
bool HasMoreThanNinePlaces(const std::string& text) {
  const size_t point = text.find('.');
  if (point == std::string::npos) return false;
  std::string frac = text.substr(point + 1);
  while (!frac.empty() && frac.back() == '0') frac.pop_back();
  return frac.size() > 9;
}

TEST(DecimalParse, PlainNotationRoundTrips) {
  for (absl::string_view s : {"0", "1", "-1", "64000.5", "0.000000001", "-0.001",
                              "9223372036.854775807", "12.3456789", "9223372037",
                              "99999999999999999999999", "288116678144.563637857",
                              "99999999999999999999999999999.999999999",
                              "-99999999999999999999999999999.999999999"}) {
    EXPECT_EQ(D(s).ToString(), s) << s;
  }
  EXPECT_EQ(D("+1.50").ToString(), "1.5");
  EXPECT_EQ(D("007").ToString(), "7");
  EXPECT_EQ(D(".5").ToString(), "0.5");
  EXPECT_EQ(D("5.").ToString(), "5");
  EXPECT_EQ(D("-0").ToString(), "0");
  EXPECT_EQ(D("1.1000000000000").ToString(), "1.1");  // zeros past 9 places
  EXPECT_EQ(D("99999999999999999999999999999.999999999"), Decimal::Max());
  EXPECT_EQ(Decimal::FromInt(std::numeric_limits<int64_t>::min()).ToString(),
            "-9223372036854775808");
}

TEST(DecimalParse, RejectsWhatIsNotPlainNotation) {
  for (absl::string_view s :
       {"", "-", ".", "1e5", "NaN", "inf", "1.2.3", " 1", "1 ", "0x10", "1,5", "1.0000000001",
        "100000000000000000000000000000", "-100000000000000000000000000000",
        "1000000000000000000000000000000000000000000000000000",
        // Found by fuzz/decimal_fuzz.cc: scaling to 9 places wrapped 128 bits.
        "12000000000000000000000000000000", "340282366920938463463.374607431768211457",
        "399999999999999999999999999999.999999999"}) {
    auto r = Decimal::Parse(s);
    EXPECT_FALSE(r.ok()) << s;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_NE(r.status().message().find("invalid decimal"), std::string::npos);
    }
  }
  EXPECT_NE(Decimal::Parse("100000000000000000000000000000").status().message().find("10^29"),
            std::string::npos);
  EXPECT_NE(Decimal::Parse("61.338743775651804468").status().message().find("9 decimal places"),
            std::string::npos);
}

TEST(DecimalParseRounded, RoundsHalfToEvenToNinePlaces) {
  auto R = [](absl::string_view s) { return Decimal::ParseRounded(s).value().ToString(); };
  EXPECT_EQ(R("61.338743775651804468"), "61.338743776");
  EXPECT_EQ(R("10014042.988958415234430699548"), "10014042.988958415");
  EXPECT_EQ(R("0.000000000000000009"), "0");
  EXPECT_EQ(R("-22.151999999999999999952"), "-22.152");
  EXPECT_EQ(R("0.0000000005"), "0");                    // tie, 0 is even
  EXPECT_EQ(R("0.0000000015"), "0.000000002");          // tie, up to even
  EXPECT_EQ(R("0.0000000025"), "0.000000002");          // tie, down to even
  EXPECT_EQ(R("0.00000000250000000001"), "0.000000003");  // above the tie
  EXPECT_EQ(R("-0.0000000015"), "-0.000000002");
  EXPECT_EQ(R("-0.0000000004"), "0");                   // no "-0"
  EXPECT_EQ(R("0.9999999995"), "1");
  EXPECT_EQ(R("64000.5"), "64000.5");                   // exact values unchanged
  EXPECT_EQ(R("1.10000000000000"), "1.1");
  EXPECT_EQ(R("99999999999999999999999999999.9999999994"),
            "99999999999999999999999999999.999999999");
}

TEST(DecimalParseRounded, RefusesWhatParseRefusesButPlaces) {
  for (absl::string_view s : {"", "-", ".", "1e5", "1E-9", "NaN", "inf", "1.2.3", " 1", "0x10",
                              "100000000000000000000000000000",
                              // rounds up to 10^29:
                              "99999999999999999999999999999.9999999995"}) {
    auto r = Decimal::ParseRounded(s);
    EXPECT_FALSE(r.ok()) << s;
    if (!r.ok()) EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << s;
  }
}

// Every quoted number of the JSON examples in BloFin's API documentation
// (shared/blofin/index.md): ParseRounded reads each as the reference rounding;
// Parse reads exactly those with at most 9 significant fraction digits.
TEST(DecimalParse, EveryNumberOfBlofinsDocumentedExamples) {
  std::ifstream in(XCTL_BLOFIN_INDEX_MD);
  if (!in) GTEST_SKIP() << "BloFin's docs not found at " << XCTL_BLOFIN_INDEX_MD;
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  std::set<std::string> numbers = {"61.338743775651804468"};
  static const std::regex kBlock(R"(```json([\s\S]*?)```)");
  static const std::regex kQuoted(R"re("(-?\d*\.?\d+)")re");
  for (std::sregex_iterator b(doc.begin(), doc.end(), kBlock), end; b != end; ++b) {
    const std::string block = (*b)[1];
    for (std::sregex_iterator n(block.begin(), block.end(), kQuoted); n != end; ++n) {
      numbers.insert((*n)[1]);
    }
  }
  ASSERT_GT(numbers.size(), 200u) << "the examples were not found in " << XCTL_BLOFIN_INDEX_MD;
  int rounded = 0;
  for (const std::string& s : numbers) {
    std::optional<Big> ref = ReferenceUnits(s);
    ASSERT_TRUE(ref.has_value()) << s;
    absl::StatusOr<Decimal> r = Decimal::ParseRounded(s);
    ASSERT_TRUE(r.ok()) << s << ": " << r.status();
    EXPECT_EQ(ToBig(r->units()), *ref) << s << " -> " << r->ToString();
    absl::StatusOr<Decimal> exact = Decimal::Parse(s);
    if (HasMoreThanNinePlaces(s)) {
      ++rounded;
      EXPECT_FALSE(exact.ok()) << s;
    } else {
      ASSERT_TRUE(exact.ok()) << s << ": " << exact.status();
      EXPECT_EQ(*exact, *r) << s;
    }
  }
  EXPECT_GT(rounded, 10);  // "10014042.988958415234430699548" and the like
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

TEST(DecimalArithmetic, ProductsOfThreeAndFourRoundOnce) {
  // 0.000000045 x 0.1 x 10 = 0.000000045 exactly; rounding after the first
  // product (0.0000000045 -> 0.000000004, a tie to even) would give 0.00000004.
  EXPECT_EQ(Decimal::Mul(D("0.000000045"), D("0.1"), D("10")).ToString(), "0.000000045");
  EXPECT_EQ(Decimal::Mul(Decimal::Mul(D("0.000000045"), D("0.1")), D("10")).ToString(),
            "0.00000004");
  // 0.000000025 x 0.1 x 0.3 = 0.00000000075 -> 0.000000001.
  EXPECT_EQ(Decimal::Mul(D("0.000000025"), D("0.1"), D("0.3")).ToString(), "0.000000001");
  // Fee: 64000.5 x 10 x 0.001 x 0.0006 = 0.384003.
  EXPECT_EQ(Decimal::Mul(D("64000.5"), D("10"), D("0.001"), D("0.0006")).ToString(), "0.384003");
  // Margin: 64000.5 x 0.3 x 0.001 / 7 = 2.742878571428... -> 2.742878571.
  EXPECT_EQ(Decimal::MulDiv(D("64000.5"), D("0.3"), D("0.001"), D("7")).ToString(),
            "2.742878571");
}

TEST(DecimalArithmetic, DivAndMulDiv) {
  EXPECT_EQ(Decimal::Div(D("1"), D("3")).ToString(), "0.333333333");
  EXPECT_EQ(Decimal::Div(D("2"), D("3")).ToString(), "0.666666667");
  EXPECT_EQ(Decimal::Div(D("1"), D("0")).ToString(), "0");
  EXPECT_EQ(Decimal::MulDiv(D("1"), D("1"), D("0")).ToString(), "0");
  // notional / leverage: 0.01 BTC x 64000 / 10
  EXPECT_EQ(Decimal::MulDiv(D("0.01"), D("64000"), D("10")).ToString(), "64");
  // Large intermediate products stay exact (256 bits and more).
  EXPECT_EQ(Decimal::MulDiv(D("9000000000"), D("9000000000"), D("9000000000")).ToString(),
            "9000000000");
  EXPECT_EQ(Decimal::MulDiv(D("90000000000000000000"), D("90000000000000000000"),
                            D("90000000000000000000"))
                .ToString(),
            "90000000000000000000");
  EXPECT_EQ(Decimal::Div(D("99999999999999999999999999999.999999999"),
                         D("99999999999999999999999999999.999999999"))
                .ToString(),
            "1");
}

TEST(DecimalArithmetic, WeightedAverageRoundsOnceAndStaysBetween) {
  EXPECT_EQ(Decimal::WeightedAverage(D("64000.5"), D("10"), D("64100"), D("10")).ToString(),
            "64050.25");
  // (1 x 1 + 2 x 2) / 3 = 1.666666666... -> 1.666666667
  EXPECT_EQ(Decimal::WeightedAverage(D("1"), D("1"), D("2"), D("2")).ToString(), "1.666666667");
  const Decimal big = D("99999999999999999999999999999");
  EXPECT_EQ(Decimal::WeightedAverage(big, big, big, big), big);
  EXPECT_EQ(Decimal::WeightedAverage(D("-3"), D("1"), D("1"), D("1")).ToString(), "-1");
  EXPECT_TRUE(Decimal::WeightedAverage(D("5"), D("0"), D("7"), D("0")).is_zero());
}

TEST(DecimalArithmetic, MultiplesAndComparison) {
  EXPECT_TRUE(D("0.3").IsMultipleOf(D("0.1")));
  EXPECT_FALSE(D("0.35").IsMultipleOf(D("0.1")));
  EXPECT_FALSE(D("1").IsMultipleOf(D("0")));
  EXPECT_TRUE(D("90000000000000000000.3").IsMultipleOf(D("0.1")));
  EXPECT_LT(D("-1"), D("0.5"));
  EXPECT_LT(D("9223372036.854775807"), D("9223372036.854775808"));
  EXPECT_EQ(D("1.50"), D("1.5"));
  EXPECT_EQ((D("1.25") - D("2")).ToString(), "-0.75");
  EXPECT_EQ(D("-3").Abs(), D("3"));
}

// Sums of money that overflowed the old int64 range (about 9.2e9) are exact.
TEST(DecimalArithmetic, SumsBeyondTheOldInt64RangeAreExact) {
  Decimal total;
  for (int i = 0; i < 1000; ++i) total += D("9223372036.854775807");
  EXPECT_EQ(total.ToString(), "9223372036854.775807");
  total -= D("9223372036854.775807");
  EXPECT_TRUE(total.is_zero());
}

// Found by fuzz/decimal_fuzz.cc (then with int64 units): overflow saturated to
// a value that could not be negated or parsed back. Now the plain operations
// saturate at +/-Max(), which negates and round-trips.
TEST(DecimalArithmetic, OverflowSaturatesToAValueThatNegatesAndRoundTrips) {
  const Decimal big = D("90000000000000000000");
  const Decimal max = Decimal::Max();
  for (Decimal d : {Decimal::Mul(-big, big), Decimal::Mul(big, big),
                    Decimal::Div(-max, D("0.5")),
                    Decimal::MulDiv(-big, big, Decimal::FromUnits(1)),
                    Decimal::Mul(big, big, big), Decimal::Mul(-big, big, big, big),
                    Decimal::MulDiv(big, big, big, Decimal::FromUnits(1)), max + max,
                    -max - max, max - (-max), max + Decimal::FromUnits(1)}) {
    EXPECT_EQ(Decimal::Parse(d.ToString()).value(), d) << d.ToString();
    EXPECT_EQ(-(-d), d);
    EXPECT_EQ(d.Abs(), max) << d.ToString();
  }
  EXPECT_EQ(Decimal::FromUnits(-Decimal::kMaxUnits - 5), -max);  // FromUnits clamps
}

TEST(DecimalChecked, OverflowIsReportedNotSaturated) {
  const Decimal max = Decimal::Max();
  const Decimal tiny = Decimal::FromUnits(1);
  const Decimal big = D("10000000000000000000");  // 1e19
  for (const absl::StatusOr<Decimal>& r :
       {Decimal::CheckedAdd(max, tiny), Decimal::CheckedSub(-max, tiny),
        Decimal::CheckedSub(max, -max), Decimal::CheckedMul(big, big),
        Decimal::CheckedMul(big, big, D("0.001")), Decimal::CheckedMul(big, D("1000"), big, big),
        Decimal::CheckedDiv(max, D("0.5")), Decimal::CheckedMulDiv(big, big, D("0.1")),
        Decimal::CheckedMulDiv(big, big, big, D("0.000000001"))}) {
    ASSERT_FALSE(r.ok()) << *r;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kOutOfRange);
    EXPECT_NE(r.status().message().find("decimal overflow"), std::string::npos)
        << r.status();
  }
  EXPECT_EQ(Decimal::CheckedMul(big, big).status().message(),
            "decimal overflow: 10000000000000000000 x 10000000000000000000 is beyond "
            "+/-99999999999999999999999999999.999999999");
  EXPECT_EQ(Decimal::CheckedDiv(D("1"), Decimal()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Decimal::CheckedMulDiv(D("1"), D("1"), Decimal()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Decimal::CheckedMulDiv(D("1"), D("1"), D("1"), Decimal()).status().code(),
            absl::StatusCode::kInvalidArgument);
  // In range: the same results as the plain operations.
  EXPECT_EQ(Decimal::CheckedAdd(max, -tiny).value(), max - tiny);
  EXPECT_EQ(Decimal::CheckedMul(D("99999999999999"), D("999999999999999")).value().ToString(),
            "99999999999998900000000000001");
  EXPECT_EQ(Decimal::CheckedMul(D("64000.5"), D("10"), D("0.001")).value(), D("640.005"));
  EXPECT_EQ(Decimal::CheckedDiv(D("2"), D("3")).value(), D("0.666666667"));
}

// Mul, Div, MulDiv and WeightedAverage on random operands of every magnitude
// (fast 128-bit paths and the 512-bit slow path) against exact integers: the
// checked result is the reference rounded half-to-even, or the reference is
// beyond the range and the checked operation refused; the plain one then
// saturates.
TEST(DecimalArithmetic, RandomOperandsMatchExactReference) {
  std::mt19937_64 rng(20240611);
  auto random_units = [&]() -> Units {
    const int digits = static_cast<int>(rng() % 39);  // 0..38 digits of units
    Units u = 0;
    for (int i = 0; i < digits; ++i) u = u * 10 + static_cast<Units>(rng() % 10);
    if (u > Decimal::kMaxUnits) u = Decimal::kMaxUnits;
    return (rng() & 1) ? -u : u;
  };
  auto check = [](const absl::StatusOr<Decimal>& checked, Decimal plain, const Big& exact_num,
                  const Big& exact_den, const std::string& what) {
    const Big ref = RoundHalfEven(exact_num, exact_den);
    if (!InRange(ref)) {
      EXPECT_FALSE(checked.ok()) << what << " = " << *checked;
      EXPECT_EQ(plain.Abs(), Decimal::Max()) << what;
      EXPECT_EQ(plain.is_negative(), ref < 0) << what;
    } else {
      ASSERT_TRUE(checked.ok()) << what << ": " << checked.status();
      EXPECT_EQ(ToBig(checked->units()), ref) << what;
      EXPECT_EQ(plain, *checked) << what;
    }
  };
  const Big one = Pow10(9);
  for (int i = 0; i < 20000; ++i) {
    const Decimal a = Decimal::FromUnits(random_units()), b = Decimal::FromUnits(random_units());
    const Decimal c = Decimal::FromUnits(random_units()), d = Decimal::FromUnits(random_units());
    const Big A = ToBig(a.units()), B = ToBig(b.units()), C = ToBig(c.units()),
              E = ToBig(d.units());
    const std::string ops = a.ToString() + ", " + b.ToString() + ", " + c.ToString() + ", " +
                            d.ToString();
    check(Decimal::CheckedMul(a, b), Decimal::Mul(a, b), A * B, one, "Mul " + ops);
    check(Decimal::CheckedMul(a, b, c), Decimal::Mul(a, b, c), A * B * C, one * one,
          "Mul3 " + ops);
    check(Decimal::CheckedMul(a, b, c, d), Decimal::Mul(a, b, c, d), A * B * C * E,
          one * one * one, "Mul4 " + ops);
    if (!b.is_zero()) {
      check(Decimal::CheckedDiv(a, b), Decimal::Div(a, b), A * one, B, "Div " + ops);
    }
    if (!c.is_zero()) {
      check(Decimal::CheckedMulDiv(a, b, c), Decimal::MulDiv(a, b, c), A * B, C,
            "MulDiv " + ops);
    }
    if (!d.is_zero()) {
      check(Decimal::CheckedMulDiv(a, b, c, d), Decimal::MulDiv(a, b, c, d), A * B * C,
            E * one, "MulDiv4 " + ops);
    }
    check(Decimal::CheckedAdd(a, b), a + b, A + B, 1, "Add " + ops);
    check(Decimal::CheckedSub(a, b), a - b, A - B, 1, "Sub " + ops);
    const Decimal wa = c.Abs(), wb = d.Abs();
    if (!(wa + wb).is_zero() && (wa + wb) < Decimal::Max()) {
      const Big ref = RoundHalfEven(A * ToBig(wa.units()) + B * ToBig(wb.units()),
                                    ToBig(wa.units()) + ToBig(wb.units()));
      EXPECT_EQ(ToBig(Decimal::WeightedAverage(a, wa, b, wb).units()), ref)
          << "WeightedAverage " << ops;
    }
  }
}

}  // namespace
}  // namespace xctl
