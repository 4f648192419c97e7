// Decimal: the exact number type of xctl for prices, quantities and money.
//
// A signed fixed-point number with 9 decimal places held in an int64
// (range about +/-9.2e9). Parsed once from plain-notation strings at the edges
// (API, BloFin JSON, database) and printed back the same way. Products and
// quotients are computed in 128 bits and rounded half-to-even to 9 places;
// docs/decimal.md states the rules. Never converted to double except for
// statistics that are ratios by nature (Sharpe, Sortino), via ToDouble().
#pragma once

#include <compare>
#include <ostream>
#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace xctl {

class Decimal {
 public:
  static constexpr int kScale = 9;
  static constexpr int64_t kOne = 1'000'000'000;

  constexpr Decimal() = default;

  // The number units x 10^-9.
  static constexpr Decimal FromUnits(int64_t units) {
    Decimal d;
    d.units_ = units;
    return d;
  }
  // A whole number; |value| must be below about 9.2e9.
  static constexpr Decimal FromInt(int64_t value) {
    return FromUnits(value * kOne);
  }

  // Parses plain notation: optional '-' or '+', digits, optional '.' and
  // fraction digits. Rejects empty strings, exponents, NaN/Inf, more than 9
  // significant fraction digits (trailing zeros beyond 9 are accepted), and
  // values out of range, each with a message naming the problem.
  [[nodiscard]] static absl::StatusOr<Decimal> Parse(absl::string_view text);

  // Plain notation with trailing fraction zeros removed: "64000.5", "-0.001",
  // "0".
  std::string ToString() const;

  // Nearest double; only for statistics (never for stored arithmetic).
  double ToDouble() const { return static_cast<double>(units_) / kOne; }

  constexpr int64_t units() const { return units_; }
  constexpr bool is_zero() const { return units_ == 0; }
  constexpr bool is_negative() const { return units_ < 0; }
  constexpr bool is_positive() const { return units_ > 0; }

  constexpr Decimal operator-() const { return FromUnits(-units_); }
  constexpr Decimal operator+(Decimal o) const {
    return FromUnits(units_ + o.units_);
  }
  constexpr Decimal operator-(Decimal o) const {
    return FromUnits(units_ - o.units_);
  }
  Decimal& operator+=(Decimal o) {
    units_ += o.units_;
    return *this;
  }
  Decimal& operator-=(Decimal o) {
    units_ -= o.units_;
    return *this;
  }
  constexpr auto operator<=>(const Decimal&) const = default;

  constexpr Decimal Abs() const { return units_ < 0 ? -*this : *this; }

  // a x b, rounded half-to-even to 9 places. Saturates at the int64 range
  // (far beyond any real price, quantity or balance).
  static Decimal Mul(Decimal a, Decimal b);
  // a / b rounded half-to-even to 9 places; b must not be zero (returns 0).
  static Decimal Div(Decimal a, Decimal b);
  // a x b / c with one rounding, for notional / leverage and the like.
  static Decimal MulDiv(Decimal a, Decimal b, Decimal c);

  // True when this is an exact multiple of `step` (step > 0).
  bool IsMultipleOf(Decimal step) const {
    return step.units_ > 0 && units_ % step.units_ == 0;
  }

 private:
  int64_t units_ = 0;
};

// Prints ToString() (used by tests and debug output).
inline std::ostream& operator<<(std::ostream& os, Decimal d) {
  return os << d.ToString();
}

}  // namespace xctl
