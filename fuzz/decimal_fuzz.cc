// Fuzzes xctl::Decimal (server/common/decimal.h): Parse and ParseRounded
// against an independent reference of the documented grammar, the print/parse
// round trip, and the arithmetic (+, -, Mul of 2-4 factors, Div, MulDiv,
// WeightedAverage, and their Checked variants) on any operands, extremes
// included, against exact integers (boost cpp_int).
//
// Input: the whole input is parsed as one decimal. It is also split on '\n'
// into up to four operands a, b, c, d for the arithmetic; an operand is a
// decimal, or "max" / "min" for +/-Decimal::Max() (the range's ends).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "fuzz_check.h"
#include "server/common/decimal.h"
#include "tests/support/exact_units.h"

using xctl::Decimal;
using xctl_fuzz::CheckRoundTrip;
using xctl_fuzz::Q;
using xctl_fuzz::Units;

namespace {

using ::xctl::testing::Big;
using ::xctl::testing::InRange;
using ::xctl::testing::MaxUnits;
using ::xctl::testing::Pow10;
using ::xctl::testing::RoundHalfEven;
using ::xctl::testing::ToBig;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The grammar of docs/decimal.md, written independently: optional sign,
// digits with at most one '.', at least one digit; Parse: at most 9
// significant fraction digits; ParseRounded: any, rounded half to even; the
// result's |units| <= 10^38 - 1. Returns the units, or nullopt when the text
// must be refused.
std::optional<Big> ReferenceParse(absl::string_view t, bool rounded) {
  bool negative = false;
  if (!t.empty() && (t[0] == '+' || t[0] == '-')) {
    negative = t[0] == '-';
    t.remove_prefix(1);
  }
  size_t point = t.find('.');
  absl::string_view whole = t.substr(0, point);
  absl::string_view frac =
      point == absl::string_view::npos ? absl::string_view() : t.substr(point + 1);
  if (frac.find('.') != absl::string_view::npos) return std::nullopt;
  for (char c : whole) if (!IsDigit(c)) return std::nullopt;
  for (char c : frac) if (!IsDigit(c)) return std::nullopt;
  if (whole.empty() && frac.empty()) return std::nullopt;
  while (!frac.empty() && frac.back() == '0') frac.remove_suffix(1);
  if (!rounded && frac.size() > 9) return std::nullopt;
  Big n = 0;
  for (char c : whole) n = n * 10 + (c - '0');
  for (char c : frac) n = n * 10 + (c - '0');
  const int places = static_cast<int>(frac.size());
  Big units = places <= 9 ? Big(n * Pow10(9 - places)) : RoundHalfEven(n, Pow10(places - 9));
  if (!InRange(units)) return std::nullopt;
  return negative ? Big(-units) : units;
}

void CheckParse(absl::string_view text) {
  for (bool rounded : {false, true}) {
    const std::string name = rounded ? "ParseRounded(" : "Parse(";
    auto d = rounded ? Decimal::ParseRounded(text) : Decimal::Parse(text);
    std::optional<Big> ref = ReferenceParse(text, rounded);
    if (!d.ok()) {
      FUZZ_CHECK(d.status().code() == absl::StatusCode::kInvalidArgument,
                 name + Q(text) + "): " + d.status().ToString());
      FUZZ_CHECK(!ref.has_value(), name + Q(text) + ") refused a valid decimal (reference: " +
                                       ref->str() + " units): " + d.status().ToString());
      continue;
    }
    FUZZ_CHECK(ref.has_value(), name + Q(text) + ") accepted it as " + Units(*d) +
                                    " but the documented grammar refuses it");
    FUZZ_CHECK(ToBig(d->units()) == *ref,
               name + Q(text) + ") = " + Units(*d) + ", reference " + ref->str() + " units");
    CheckRoundTrip(*d, "parsed");
  }
}

std::optional<Decimal> Operand(absl::string_view text) {
  if (text == "max") return Decimal::Max();
  if (text == "min") return -Decimal::Max();
  auto d = Decimal::Parse(text);
  if (!d.ok()) return std::nullopt;
  return *d;
}

// A result the code hands on: it must be a value Parse accepts again (the
// API and the database carry decimals as text) and one that can be negated.
void CheckResult(Decimal r, const std::string& what) {
  FUZZ_CHECK(-(-r) == r && !r.Abs().is_negative(), what + ": negation of " + Units(r));
  CheckRoundTrip(r, what.c_str());
}

// `plain` and `checked` must be num / den rounded half to even to a whole
// number of units; beyond the range the plain result saturates at
// +/-Max() and the checked one is OUT_OF_RANGE.
void CheckRounded(Decimal plain, const absl::StatusOr<Decimal>& checked, const Big& num,
                  const Big& den, const std::string& what) {
  const Big ref = RoundHalfEven(num, den);
  CheckResult(plain, what);
  if (!InRange(ref)) {
    FUZZ_CHECK(plain == (ref > 0 ? Decimal::Max() : -Decimal::Max()),
               what + ": out of range but did not saturate at +/-Max(): " + Units(plain));
    FUZZ_CHECK(!checked.ok() && checked.status().code() == absl::StatusCode::kOutOfRange,
               what + ": out of range but the checked variant did not say so");
    return;
  }
  FUZZ_CHECK(ToBig(plain.units()) == ref,
             what + ": " + Units(plain) + ", exact rounding " + ref.str() + " units");
  FUZZ_CHECK(checked.ok() && *checked == plain,
             what + ": the checked variant disagrees: " +
                 (checked.ok() ? Units(*checked) : checked.status().ToString()));
}

void CheckArithmetic(const std::vector<Decimal>& ops) {
  const Decimal a = ops[0], b = ops[1];
  const Big one = Pow10(9), A = ToBig(a.units()), B = ToBig(b.units());
  const std::string ab = "(" + Units(a) + ", " + Units(b) + ")";
  CheckRounded(a + b, Decimal::CheckedAdd(a, b), A + B, 1, "+" + ab);
  CheckRounded(a - b, Decimal::CheckedSub(a, b), A - B, 1, "-" + ab);
  const Decimal m = Decimal::Mul(a, b);
  CheckRounded(m, Decimal::CheckedMul(a, b), A * B, one, "Mul" + ab);
  FUZZ_CHECK(Decimal::Mul(b, a) == m, "Mul not commutative " + ab);
  FUZZ_CHECK(Decimal::Mul(a, Decimal::FromInt(1)) == a, "Mul(a, 1) != a for " + Units(a));
  FUZZ_CHECK(Decimal::Div(a, Decimal::FromInt(1)) == a, "Div(a, 1) != a for " + Units(a));
  FUZZ_CHECK(Decimal::Div(a, Decimal()).is_zero(), "Div(a, 0) != 0 for " + Units(a));
  FUZZ_CHECK(Decimal::CheckedDiv(a, Decimal()).status().code() ==
                 absl::StatusCode::kInvalidArgument,
             "CheckedDiv(a, 0) is not INVALID_ARGUMENT");
  if (!b.is_zero()) {
    CheckRounded(Decimal::Div(a, b), Decimal::CheckedDiv(a, b), A * one, B, "Div" + ab);
  }
  // Comparison is consistent with the units.
  FUZZ_CHECK((a < b) == (A < B), "operator< " + ab);
  if (b.is_positive()) {
    FUZZ_CHECK(a.IsMultipleOf(b) == (A % B == 0), "IsMultipleOf " + ab);
  }
  if (ops.size() < 3) return;
  const Decimal c = ops[2];
  const Big C = ToBig(c.units());
  const std::string abc = ab + " x " + Units(c);
  CheckRounded(Decimal::Mul(a, b, c), Decimal::CheckedMul(a, b, c), A * B * C, one * one,
               "Mul3" + abc);
  if (c.is_zero()) {
    FUZZ_CHECK(Decimal::MulDiv(a, b, c).is_zero(), "MulDiv(a, b, 0) != 0");
  } else {
    CheckRounded(Decimal::MulDiv(a, b, c), Decimal::CheckedMulDiv(a, b, c), A * B, C,
                 "MulDiv" + ab + " / " + Units(c));
  }
  if (ops.size() < 4) return;
  const Decimal d = ops[3];
  const Big E = ToBig(d.units());
  const std::string abcd = abc + " x " + Units(d);
  CheckRounded(Decimal::Mul(a, b, c, d), Decimal::CheckedMul(a, b, c, d), A * B * C * E,
               one * one * one, "Mul4" + abcd);
  if (!d.is_zero()) {
    CheckRounded(Decimal::MulDiv(a, b, c, d), Decimal::CheckedMulDiv(a, b, c, d), A * B * C,
                 E * one, "MulDiv4" + abc + " / " + Units(d));
  }
  // The weighted average of a and b with weights |c| and |d|: one rounding,
  // and between a and b.
  const Decimal wa = c.Abs(), wb = d.Abs();
  const Big WA = ToBig(wa.units()), WB = ToBig(wb.units());
  if (WA + WB != 0) {
    const Decimal avg = Decimal::WeightedAverage(a, wa, b, wb);
    const Big ref = RoundHalfEven(A * WA + B * WB, WA + WB);
    FUZZ_CHECK(ToBig(avg.units()) == ref,
               "WeightedAverage" + abcd + " = " + Units(avg) + ", exact " + ref.str());
    CheckResult(avg, "WeightedAverage" + abcd);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  CheckParse(input);

  std::vector<absl::string_view> parts = absl::StrSplit(input, absl::MaxSplits('\n', 4));
  if (parts.size() < 2 || parts.size() > 4) return 0;
  std::vector<Decimal> ops;
  for (absl::string_view p : parts) {
    CheckParse(p);
    std::optional<Decimal> d = Operand(p);
    if (!d) return 0;
    ops.push_back(*d);
  }
  CheckArithmetic(ops);
  return 0;
}
