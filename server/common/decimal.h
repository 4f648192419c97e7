// Decimal: the exact number type of xctl for prices, quantities and money.
//
// A signed fixed-point number with 9 decimal places held in a 128-bit integer
// of units (GCC/Clang __int128). The range is |value| < 10^29 (29 integer
// digits and 9 fraction digits: exactly what PostgreSQL's NUMERIC(38,9)
// column holds). Parsed once from plain-notation strings at the edges (API,
// BloFin JSON, database) and printed back the same way. Products and quotients
// are computed exactly (256-bit intermediates) and rounded once, half-to-even,
// to 9 places; docs/decimal.md states the rules. Never converted to double
// except for statistics that are ratios by nature (Sharpe, Sortino), via
// ToDouble().
//
// Overflow is never undefined behaviour: the plain operators and Mul / Div /
// MulDiv saturate at +/-(10^29 - 10^-9), a range no input can reach because
// Parse and the order checks (server/model/instruments.h) refuse what
// could; the Checked* variants report overflow as OUT_OF_RANGE instead, for
// the arithmetic of an order before it is accepted.
#pragma once

#include <compare>
#include <cstdint>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace xctl {

class Decimal {
 public:
  // The integer type of the units (value x 10^9).
  __extension__ typedef __int128 Units;

  static constexpr int kScale = 9;
  static constexpr int64_t kOne = 1'000'000'000;
  // Largest |units|: 10^38 - 1, i.e. |value| <= 99999999999999999999999999999.999999999.
  static constexpr Units kMaxUnits =
      static_cast<Units>(10'000'000'000'000'000'000ULL) *
          static_cast<Units>(10'000'000'000'000'000'000ULL) -
      1;

  constexpr Decimal() = default;

  // The number units x 10^-9, clamped to +/-kMaxUnits (any int64 is in range).
  static constexpr Decimal FromUnits(Units units) {
    Decimal d;
    d.units_ = units > kMaxUnits ? kMaxUnits : (units < -kMaxUnits ? -kMaxUnits : units);
    return d;
  }
  // A whole number (any int64 is in range).
  static constexpr Decimal FromInt(int64_t value) {
    return FromUnits(static_cast<Units>(value) * kOne);
  }
  // The largest value, 99999999999999999999999999999.999999999 (-Max() the smallest).
  static constexpr Decimal Max() { return FromUnits(kMaxUnits); }

  // Exact parse, for quantities, prices, lot/tick sizes, contract values and
  // everything a user sends. Plain notation: optional '-' or '+', digits,
  // optional '.' and fraction digits. Rejects empty strings, exponents,
  // NaN/Inf, more than 9 significant fraction digits (trailing zeros beyond 9
  // are accepted), and |value| >= 10^29, each INVALID_ARGUMENT with a message
  // naming the problem.
  [[nodiscard]] static absl::StatusOr<Decimal> Parse(absl::string_view text);

  // Like Parse, but any number of fraction digits is accepted and the value
  // is rounded half-to-even to 9 places ("61.338743775651804468" ->
  // 61.338743776). For money values BloFin computes with more places
  // (balances, equity, fees, average prices, PnL, mark prices, margin);
  // docs/decimal.md lists which fields are exact and which rounded. Still
  // refuses exponents, NaN/Inf, empty strings and |value| >= 10^29 (after
  // rounding).
  [[nodiscard]] static absl::StatusOr<Decimal> ParseRounded(absl::string_view text);

  // Plain notation with trailing fraction zeros removed: "64000.5", "-0.001",
  // "0".
  std::string ToString() const;

  // Nearest double; only for statistics (never for stored arithmetic).
  double ToDouble() const { return static_cast<double>(units_) / kOne; }

  constexpr Units units() const { return units_; }
  constexpr bool is_zero() const { return units_ == 0; }
  constexpr bool is_negative() const { return units_ < 0; }
  constexpr bool is_positive() const { return units_ > 0; }

  // Exact within the range; saturate at +/-Max() beyond it (never wrap).
  constexpr Decimal operator-() const { return FromUnits(-units_); }
  constexpr Decimal operator+(Decimal o) const { return FromUnits(SaturatingAdd(units_, o.units_)); }
  constexpr Decimal operator-(Decimal o) const { return FromUnits(SaturatingAdd(units_, -o.units_)); }
  constexpr Decimal& operator+=(Decimal o) { return *this = *this + o; }
  constexpr Decimal& operator-=(Decimal o) { return *this = *this - o; }
  constexpr auto operator<=>(const Decimal&) const = default;

  constexpr Decimal Abs() const { return units_ < 0 ? -*this : *this; }

  // a x b, rounded half-to-even to 9 places. Saturates at +/-Max().
  static Decimal Mul(Decimal a, Decimal b);
  // a x b x c with one rounding (price x quantity x contract value), and
  // a x b x c x d (the fee: notional x rate). Saturate at +/-Max().
  static Decimal Mul(Decimal a, Decimal b, Decimal c);
  static Decimal Mul(Decimal a, Decimal b, Decimal c, Decimal d);
  // a / b rounded half-to-even to 9 places; b must not be zero (returns 0).
  // Saturates at +/-Max().
  static Decimal Div(Decimal a, Decimal b);
  // a x b / c with one rounding; c must not be zero (returns 0). Saturates at
  // +/-Max().
  static Decimal MulDiv(Decimal a, Decimal b, Decimal c);
  // (a x b x c) / d with one rounding: price x quantity x contract value /
  // leverage. d must not be zero (returns 0). Saturates at +/-Max().
  static Decimal MulDiv(Decimal a, Decimal b, Decimal c, Decimal d);
  // (a x wa + b x wb) / (wa + wb) with one rounding: the weighted average of
  // a and b (an average price). For wa, wb >= 0 the result lies between a and
  // b, so it is always in range; 0 when wa + wb is 0.
  static Decimal WeightedAverage(Decimal a, Decimal wa, Decimal b, Decimal wb);

  // The same operations, with overflow of the range reported as OUT_OF_RANGE
  // ("decimal overflow: ... is beyond +/-99999999999999999999999999999.999999999")
  // and division by zero as INVALID_ARGUMENT. For the arithmetic of an order
  // before anything is stored.
  [[nodiscard]] static absl::StatusOr<Decimal> CheckedAdd(Decimal a, Decimal b);
  [[nodiscard]] static absl::StatusOr<Decimal> CheckedSub(Decimal a, Decimal b);
  [[nodiscard]] static absl::StatusOr<Decimal> CheckedMul(Decimal a, Decimal b);
  [[nodiscard]] static absl::StatusOr<Decimal> CheckedMul(Decimal a, Decimal b, Decimal c);
  [[nodiscard]] static absl::StatusOr<Decimal> CheckedMul(Decimal a, Decimal b, Decimal c,
                                                          Decimal d);
  [[nodiscard]] static absl::StatusOr<Decimal> CheckedDiv(Decimal a, Decimal b);
  [[nodiscard]] static absl::StatusOr<Decimal> CheckedMulDiv(Decimal a, Decimal b, Decimal c);
  [[nodiscard]] static absl::StatusOr<Decimal> CheckedMulDiv(Decimal a, Decimal b, Decimal c,
                                                             Decimal d);

  // True when this is an exact multiple of `step` (step > 0).
  constexpr bool IsMultipleOf(Decimal step) const {
    return step.units_ > 0 && units_ % step.units_ == 0;
  }

 private:
  // a + b for |a|, |b| <= kMaxUnits (the sum may exceed the int128 range:
  // 2 x 10^38 > 2^127); FromUnits then clamps.
  static constexpr Units SaturatingAdd(Units a, Units b) {
    Units sum = 0;
    if (__builtin_add_overflow(a, b, &sum)) return b > 0 ? kMaxUnits : -kMaxUnits;
    return sum;
  }

  Units units_ = 0;
};

// Prints ToString() (used by tests and debug output).
inline std::ostream& operator<<(std::ostream& os, Decimal d) {
  return os << d.ToString();
}

}  // namespace xctl
