#include "server/common/decimal.h"

#include <cstdlib>
#include <limits>

#include "absl/numeric/int128.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace xctl {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

absl::Status Bad(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid decimal \"", text.substr(0, 64), "\": ", why));
}

// Divides with rounding half to even.
absl::int128 DivRound(absl::int128 n, absl::int128 d) {
  if (d < 0) {
    n = -n;
    d = -d;
  }
  absl::int128 q = n / d;
  absl::int128 r = n % d;
  absl::int128 twice = (r < 0 ? -r : r) * 2;
  if (twice > d || (twice == d && (q % 2 != 0))) {
    q += (n < 0) ? -1 : 1;
  }
  return q;
}

Decimal Saturate(absl::int128 v) {
  if (v > kMax) return Decimal::FromUnits(kMax);
  // -(2^63 - 1), not INT64_MIN: every Decimal can be negated and printed back.
  if (v < -kMax) return Decimal::FromUnits(-kMax);
  return Decimal::FromUnits(static_cast<int64_t>(v));
}

}  // namespace

absl::StatusOr<Decimal> Decimal::Parse(absl::string_view text) {
  if (text.empty()) return Bad(text, "empty");
  size_t i = 0;
  bool negative = false;
  if (text[0] == '-' || text[0] == '+') {
    negative = text[0] == '-';
    i = 1;
  }
  absl::int128 units = 0;
  int int_digits = 0;
  int frac_digits = 0;
  bool seen_point = false;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c == '.') {
      if (seen_point) return Bad(text, "more than one decimal point");
      seen_point = true;
      continue;
    }
    if (c < '0' || c > '9') {
      return Bad(text, "expected plain notation (digits, one optional '.', "
                       "optional sign; no exponent)");
    }
    if (seen_point) {
      if (frac_digits == kScale) {
        if (c != '0') return Bad(text, "more than 9 decimal places");
        continue;
      }
      ++frac_digits;
    } else {
      ++int_digits;
    }
    units = units * 10 + (c - '0');
    if (units > absl::int128(kMax) * 10) return Bad(text, "out of range");
  }
  if (int_digits == 0 && frac_digits == 0) return Bad(text, "no digits");
  for (int k = frac_digits; k < kScale; ++k) units *= 10;
  if (negative) units = -units;
  if (units > kMax || units < -absl::int128(kMax)) {
    return Bad(text, "out of range (|value| must be below 9223372036)");
  }
  return FromUnits(static_cast<int64_t>(units));
}

std::string Decimal::ToString() const {
  absl::int128 v = units_;
  bool negative = v < 0;
  if (negative) v = -v;
  uint64_t whole = static_cast<uint64_t>(v / kOne);
  uint64_t frac = static_cast<uint64_t>(v % kOne);
  std::string out = negative ? "-" : "";
  absl::StrAppend(&out, whole);
  if (frac != 0) {
    std::string digits = std::to_string(frac);
    digits.insert(0, kScale - digits.size(), '0');
    while (!digits.empty() && digits.back() == '0') digits.pop_back();
    absl::StrAppend(&out, ".", digits);
  }
  return out;
}

Decimal Decimal::Mul(Decimal a, Decimal b) {
  return Saturate(DivRound(absl::int128(a.units_) * b.units_, kOne));
}

Decimal Decimal::Div(Decimal a, Decimal b) {
  if (b.units_ == 0) return Decimal();
  return Saturate(DivRound(absl::int128(a.units_) * kOne, b.units_));
}

Decimal Decimal::MulDiv(Decimal a, Decimal b, Decimal c) {
  if (c.units_ == 0) return Decimal();
  // a*b in units^2 / c in units = result in units.
  absl::int128 num = absl::int128(a.units_) * b.units_;
  return Saturate(DivRound(num, c.units_));
}

}  // namespace xctl
