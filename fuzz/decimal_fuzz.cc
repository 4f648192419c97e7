// Fuzzes xctl::Decimal (server/common/decimal.h): Parse against an
// independent reference of the documented grammar, the print/parse round trip,
// and Mul / Div / MulDiv on any two or three values, extremes included.
//
// Input: the whole input is parsed as one decimal. It is also split on '\n'
// into up to three operands a, b, c for the arithmetic; an operand is a
// decimal, or "max" / "min" for the raw int64 extremes (INT64_MIN is no
// result of any operation, but must not crash one either).
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/numeric/int128.h"
#include "absl/strings/str_split.h"
#include "fuzz_check.h"
#include "server/common/decimal.h"

using xctl::Decimal;
using xctl_fuzz::CheckRoundTrip;
using xctl_fuzz::Q;
using xctl_fuzz::Units;

namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The grammar of docs/decimal.md, written independently: optional sign,
// digits with at most one '.', at least one digit, at most 9 significant
// fraction digits, |value| <= (2^63 - 1) x 10^-9. Returns the canonical print
// of the value, or nullopt when Parse must refuse the text.
std::optional<std::string> ReferenceParse(absl::string_view t) {
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
  while (!whole.empty() && whole.front() == '0') whole.remove_prefix(1);
  while (!frac.empty() && frac.back() == '0') frac.remove_suffix(1);
  if (frac.size() > 9) return std::nullopt;
  std::string units = std::string(whole) + std::string(frac) + std::string(9 - frac.size(), '0');
  units.erase(0, std::min(units.find_first_not_of('0'), units.size()));
  static const std::string kMaxUnits = std::to_string(kMax);
  if (units.size() > kMaxUnits.size() ||
      (units.size() == kMaxUnits.size() && units > kMaxUnits)) {
    return std::nullopt;
  }
  std::string canon = whole.empty() ? "0" : std::string(whole);
  if (!frac.empty()) canon += "." + std::string(frac);
  if (negative && canon != "0") canon = "-" + canon;
  return canon;
}

void CheckParse(absl::string_view text) {
  auto d = Decimal::Parse(text);
  std::optional<std::string> ref = ReferenceParse(text);
  if (!d.ok()) {
    FUZZ_CHECK(d.status().code() == absl::StatusCode::kInvalidArgument,
               "Parse(" + Q(text) + "): " + d.status().ToString());
    FUZZ_CHECK(!ref.has_value(),
               "Parse(" + Q(text) + ") refused a valid decimal (reference: " + *ref +
                   "): " + d.status().ToString());
    return;
  }
  FUZZ_CHECK(ref.has_value(), "Parse(" + Q(text) + ") accepted it as " + Units(*d) +
                                  " but the documented grammar refuses it");
  FUZZ_CHECK(d->ToString() == *ref, "Parse(" + Q(text) + ") = " + Units(*d) +
                                        ", reference value " + *ref);
  FUZZ_CHECK(d->units() != kMin, "Parse(" + Q(text) + ") gave INT64_MIN units");
  CheckRoundTrip(*d, "parsed");
}

std::optional<Decimal> Operand(absl::string_view text) {
  if (text == "max") return Decimal::FromUnits(kMax);
  if (text == "min") return Decimal::FromUnits(kMin);
  auto d = Decimal::Parse(text);
  if (!d.ok()) return std::nullopt;
  return *d;
}

absl::int128 Abs128(absl::int128 v) { return v < 0 ? -v : v; }

// `result` must be num / divisor (the exact quotient, as int128) rounded half
// to even to a whole number of units, or saturated.
void CheckRounded(Decimal result, absl::int128 num, absl::int128 divisor,
                  const std::string& what) {
  if (divisor < 0) {
    num = -num;
    divisor = -divisor;
  }
  // q: num / divisor truncated (|num| <= 2^126, no overflow). Beyond
  // +/-(2^63 - 1) units the result saturates there (docs/decimal.md); never
  // at INT64_MIN, which could not be negated or parsed back.
  absl::int128 q = num / divisor;
  bool exact = num % divisor == 0;
  if (q > kMax || q < -kMax || (q == kMax && !exact) || (q == -kMax && !exact)) {
    FUZZ_CHECK(result.units() == (num > 0 ? kMax : -kMax),
               what + ": out of range but did not saturate at +/-(2^63-1) units: " +
                   Units(result));
    return;
  }
  absl::int128 diff = absl::int128(result.units()) * divisor - num;
  FUZZ_CHECK(Abs128(diff) * 2 <= divisor, what + ": not rounded to nearest: " + Units(result));
  if (Abs128(diff) * 2 == divisor) {
    FUZZ_CHECK(result.units() % 2 == 0, what + ": tie not rounded to even: " + Units(result));
  }
}

// A result the code hands on: it must be a value Parse accepts again (the
// API and the database carry decimals as text) and one that can be negated.
void CheckResult(Decimal r, const std::string& what) {
  FUZZ_CHECK(r.units() != kMin, what + " = INT64_MIN units: outside Parse's range, and "
                                       "-r / r.Abs() overflow");
  CheckRoundTrip(r, what.c_str());
}

void CheckArithmetic(Decimal a, Decimal b, std::optional<Decimal> c) {
  const std::string ab = "(" + Units(a) + ", " + Units(b) + ")";
  Decimal m = Decimal::Mul(a, b);
  CheckRounded(m, absl::int128(a.units()) * b.units(), Decimal::kOne, "Mul" + ab);
  FUZZ_CHECK(Decimal::Mul(b, a) == m, "Mul not commutative " + ab);
  if (a.units() != kMin) {  // the raw "min" operand saturates to -(2^63-1)
    FUZZ_CHECK(Decimal::Mul(a, Decimal::FromInt(1)) == a, "Mul(a, 1) != a for " + Units(a));
    FUZZ_CHECK(Decimal::Div(a, Decimal::FromInt(1)) == a, "Div(a, 1) != a for " + Units(a));
  }
  FUZZ_CHECK(Decimal::Div(a, Decimal()).is_zero(), "Div(a, 0) != 0 for " + Units(a));
  CheckResult(m, "Mul" + ab);
  if (!b.is_zero()) {
    Decimal q = Decimal::Div(a, b);
    CheckRounded(q, absl::int128(a.units()) * Decimal::kOne, b.units(), "Div" + ab);
    CheckResult(q, "Div" + ab);
  }
  if (c) {
    Decimal r = Decimal::MulDiv(a, b, *c);
    if (c->is_zero()) {
      FUZZ_CHECK(r.is_zero(), "MulDiv(a, b, 0) != 0");
    } else {
      CheckRounded(r, absl::int128(a.units()) * b.units(), c->units(),
                   "MulDiv" + ab + " / " + Units(*c));
      CheckResult(r, "MulDiv" + ab + " / " + Units(*c));
    }
  }
  // Comparison is consistent with the units.
  FUZZ_CHECK((a < b) == (a.units() < b.units()), "operator< " + ab);
  if (a.units() != kMin) {
    FUZZ_CHECK(!a.Abs().is_negative(), "Abs negative for " + Units(a));
  }
  if (b.units() > 0) {
    FUZZ_CHECK(a.IsMultipleOf(b) == (a.units() % b.units() == 0), "IsMultipleOf " + ab);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  CheckParse(input);

  std::vector<absl::string_view> parts = absl::StrSplit(input, absl::MaxSplits('\n', 3));
  if (parts.size() < 2 || parts.size() > 3) return 0;
  std::vector<Decimal> ops;
  for (absl::string_view p : parts) {
    CheckParse(p);
    std::optional<Decimal> d = Operand(p);
    if (!d) return 0;
    ops.push_back(*d);
  }
  std::optional<Decimal> c;
  if (ops.size() == 3) c = ops[2];
  CheckArithmetic(ops[0], ops[1], c);
  return 0;
}
