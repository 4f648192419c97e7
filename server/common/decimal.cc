#include "server/common/decimal.h"

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace xctl {
namespace {

using Units = Decimal::Units;
__extension__ typedef unsigned __int128 U128;

constexpr U128 kMaxMag = static_cast<U128>(Decimal::kMaxUnits);
constexpr U128 kOneU = static_cast<U128>(Decimal::kOne);

absl::Status Bad(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid decimal \"", text.substr(0, 64), "\": ", why));
}

U128 Mag(Units v) { return v < 0 ? -static_cast<U128>(v) : static_cast<U128>(v); }

// ---- exact products and quotients --------------------------------------------
//
// Every product and quotient is one rational number
//   factor_1 x ... x factor_n / (divisor x 10^(9 x scale))     (all in units)
// rounded once, half to even. Fast path: numerator and denominator fit in
// 128 bits (every realistic price x size x contract value x rate). Otherwise
// an unsigned 512-bit integer: four factors below 2^127 fit.

struct Big {
  static constexpr int kLimbs = 8;
  uint64_t w[kLimbs] = {};  // little-endian 64-bit limbs
};

Big BigOf(U128 v) {
  Big b;
  b.w[0] = static_cast<uint64_t>(v);
  b.w[1] = static_cast<uint64_t>(v >> 64);
  return b;
}

// x * m (the caller keeps the product below 2^512).
Big MulBig(const Big& x, U128 m) {
  Big r;
  const uint64_t ms[2] = {static_cast<uint64_t>(m), static_cast<uint64_t>(m >> 64)};
  for (int j = 0; j < 2; ++j) {
    if (ms[j] == 0) continue;
    U128 carry = 0;
    for (int i = 0; i + j < Big::kLimbs; ++i) {
      const U128 t = static_cast<U128>(x.w[i]) * ms[j] + r.w[i + j] + carry;
      r.w[i + j] = static_cast<uint64_t>(t);
      carry = t >> 64;
    }
  }
  return r;
}

Big AddBig(const Big& a, const Big& b) {
  Big r;
  U128 carry = 0;
  for (int i = 0; i < Big::kLimbs; ++i) {
    const U128 t = static_cast<U128>(a.w[i]) + b.w[i] + carry;
    r.w[i] = static_cast<uint64_t>(t);
    carry = t >> 64;
  }
  return r;
}

int CompareBig(const Big& a, const Big& b) {
  for (int i = Big::kLimbs - 1; i >= 0; --i) {
    if (a.w[i] != b.w[i]) return a.w[i] < b.w[i] ? -1 : 1;
  }
  return 0;
}

// a - b for a >= b.
Big SubBig(const Big& a, const Big& b) {
  Big r;
  uint64_t borrow = 0;
  for (int i = 0; i < Big::kLimbs; ++i) {
    const uint64_t d = a.w[i] - b.w[i];
    const uint64_t next = (a.w[i] < b.w[i]) || (d < borrow) ? 1 : 0;
    r.w[i] = d - borrow;
    borrow = next;
  }
  return r;
}

bool Bit(const Big& a, int i) { return ((a.w[i / 64] >> (i % 64)) & 1) != 0; }

// n / d (d > 0) rounded half to even; false when the result exceeds kMaxMag.
bool DivRoundBig(const Big& n, const Big& d, U128* out) {
  int top = Big::kLimbs * 64 - 1;
  while (top >= 0 && !Bit(n, top)) --top;
  Big q, r;  // long division, one bit at a time: r < d throughout
  for (int i = top; i >= 0; --i) {
    for (int k = Big::kLimbs - 1; k > 0; --k) r.w[k] = (r.w[k] << 1) | (r.w[k - 1] >> 63);
    r.w[0] = (r.w[0] << 1) | (Bit(n, i) ? 1 : 0);
    if (CompareBig(r, d) >= 0) {
      r = SubBig(r, d);
      q.w[i / 64] |= uint64_t{1} << (i % 64);
    }
  }
  for (int k = 2; k < Big::kLimbs; ++k) {
    if (q.w[k] != 0) return false;
  }
  U128 mag = (static_cast<U128>(q.w[1]) << 64) | q.w[0];
  if (mag > kMaxMag) return false;
  // Twice the remainder against the divisor (r < d < 2^256: no overflow).
  const int half = CompareBig(AddBig(r, r), d);
  if (half > 0 || (half == 0 && (mag & 1) != 0)) ++mag;
  if (mag > kMaxMag) return false;
  *out = mag;
  return true;
}

// True when q (the truncated quotient of a division by d, remainder r < d)
// must go up by one under half-to-even rounding.
bool RoundsUp(U128 q, U128 r, U128 d) {
  const U128 rest = d - r;
  return r > rest || (r == rest && (q & 1) != 0);
}

// The signed result of a magnitude; false beyond the range.
bool Signed(bool negative, U128 mag, Units* out) {
  if (mag > kMaxMag) return false;
  *out = negative ? -static_cast<Units>(mag) : static_cast<Units>(mag);
  return true;
}

// 10^0, 10^9, 10^18, 10^27: the scales a product of 1-4 factors divides by.
constexpr U128 kScalePow[4] = {1, kOneU, kOneU * kOneU, kOneU * kOneU * kOneU};

// x * m for x < 2^128, m < 2^64; false when the product needs more than 128
// bits.
inline bool MulSmall(U128 x, uint64_t m, U128* out) {
  const U128 lo = static_cast<U128>(static_cast<uint64_t>(x)) * m;
  const U128 hi = static_cast<U128>(static_cast<uint64_t>(x >> 64)) * m;
  const U128 mid = static_cast<U128>(static_cast<uint64_t>(hi)) + (lo >> 64);
  if ((hi >> 64) != 0 || (mid >> 64) != 0) return false;
  *out = (mid << 64) | static_cast<uint64_t>(lo);
  return true;
}

// factors[0] x ... x factors[N-1] / (divisor x 10^(9 x scale)), rounded half
// to even; N <= 4, divisor != 0, scale <= 3. False when beyond the range.
template <size_t N>
bool Ratio(const Units (&factors)[N], Units divisor, int scale, Units* out) {
  bool negative = divisor < 0;
  bool small = true;  // every |factor| below 2^64: the common case
  for (Units f : factors) {
    if (f == 0) {
      *out = 0;
      return true;
    }
    negative = negative != (f < 0);
    small = small && (Mag(f) >> 64) == 0;
  }
  // Fast path: numerator and denominator in native 128-bit arithmetic.
  U128 num = 0, den = 0;
  bool fits = !__builtin_mul_overflow(Mag(divisor), kScalePow[scale], &den);
  if (fits && small) {
    num = Mag(factors[0]);
    for (size_t i = 1; i < N && fits; ++i) {
      fits = MulSmall(num, static_cast<uint64_t>(Mag(factors[i])), &num);
    }
  } else if (fits) {
    num = 1;
    for (size_t i = 0; i < N && fits; ++i) fits = !__builtin_mul_overflow(num, Mag(factors[i]), &num);
  }
  if (fits) {
    U128 q = num / den;
    const U128 r = num - q * den;  // one division, not two
    if (q > kMaxMag) return false;
    if (RoundsUp(q, r, den)) ++q;
    return Signed(negative, q, out);
  }
  Big n = BigOf(1);
  for (Units f : factors) n = MulBig(n, Mag(f));
  const Big d = MulBig(BigOf(Mag(divisor)), kScalePow[scale]);
  U128 mag = 0;
  if (!DivRoundBig(n, d, &mag)) return false;
  return Signed(negative, mag, out);
}

absl::Status Overflow(absl::string_view what) {
  return absl::OutOfRangeError(absl::StrCat("decimal overflow: ", what, " is beyond +/-",
                                            Decimal::Max().ToString()));
}

absl::Status DivisionByZero(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("division by zero: ", what));
}

// Appends the decimal digits of v.
void AppendDigits(std::string* out, U128 v) {
  char buf[40];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + static_cast<int>(v % 10));
    v /= 10;
  } while (v != 0);
  while (n > 0) out->push_back(buf[--n]);
}

absl::StatusOr<Decimal> ParseText(absl::string_view text, bool round) {
  if (text.empty()) return Bad(text, "empty");
  size_t i = 0;
  bool negative = false;
  if (text[0] == '-' || text[0] == '+') {
    negative = text[0] == '-';
    i = 1;
  }
  U128 units = 0;  // never above kMaxMag
  int int_digits = 0;
  int frac_digits = 0;
  bool extra = false;    // digits beyond 9 places (ParseRounded)
  int guard = 0;         // the first of them
  bool sticky = false;   // any nonzero digit after it
  bool seen_point = false;
  bool too_large = false;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '.') {
      if (seen_point) return Bad(text, "more than one decimal point");
      seen_point = true;
      continue;
    }
    if (c < '0' || c > '9') {
      return Bad(text, "expected plain notation (digits, one optional '.', "
                       "optional sign; no exponent)");
    }
    if (seen_point && frac_digits == Decimal::kScale) {
      if (!round) {
        if (c != '0') return Bad(text, "more than 9 decimal places");
      } else if (!extra) {
        extra = true;
        guard = c - '0';
      } else if (c != '0') {
        sticky = true;
      }
      continue;
    }
    if (seen_point) {
      ++frac_digits;
    } else {
      ++int_digits;
    }
    if (too_large) continue;
    const U128 digit = static_cast<U128>(c - '0');
    if (units > (kMaxMag - digit) / 10) {  // units x 10 + digit would pass the range
      too_large = true;
      continue;
    }
    units = units * 10 + digit;
  }
  if (int_digits == 0 && frac_digits == 0) return Bad(text, "no digits");
  const absl::string_view range = "out of range (|value| must be below 10^29)";
  for (int k = frac_digits; k < Decimal::kScale && !too_large; ++k) {
    too_large = units > kMaxMag / 10;  // the scaled value would be beyond the range
    units *= 10;
  }
  if (too_large) return Bad(text, range);
  // Half to even on the digits beyond 9 places (units is at full scale here).
  if (extra && (guard > 5 || (guard == 5 && (sticky || (units & 1) != 0)))) ++units;
  if (units > kMaxMag) return Bad(text, range);
  Units value = static_cast<Units>(units);
  return Decimal::FromUnits(negative ? -value : value);
}

}  // namespace

absl::StatusOr<Decimal> Decimal::Parse(absl::string_view text) { return ParseText(text, false); }

absl::StatusOr<Decimal> Decimal::ParseRounded(absl::string_view text) {
  return ParseText(text, true);
}

std::string Decimal::ToString() const {
  const U128 mag = Mag(units_);
  const U128 whole = mag / kOneU;
  const uint64_t frac = static_cast<uint64_t>(mag % kOneU);
  std::string out;
  if (units_ < 0) out.push_back('-');
  AppendDigits(&out, whole);
  if (frac != 0) {
    std::string digits = std::to_string(frac);
    digits.insert(0, kScale - digits.size(), '0');
    while (!digits.empty() && digits.back() == '0') digits.pop_back();
    absl::StrAppend(&out, ".", digits);
  }
  return out;
}

namespace {

constexpr Units kOneUnits = Decimal::kOne;

// The result of a plain operation: saturated when beyond the range.
template <size_t N>
Decimal Plain(const Units (&factors)[N], Units divisor, int scale) {
  Units r = 0;
  if (Ratio(factors, divisor, scale, &r)) return Decimal::FromUnits(r);
  bool negative = divisor < 0;
  for (Units f : factors) negative = negative != (f < 0);
  return negative ? -Decimal::Max() : Decimal::Max();
}

// The result of a checked operation.
template <size_t N, typename What>
absl::StatusOr<Decimal> Checked(const Units (&factors)[N], Units divisor, int scale,
                                const What& what) {
  Units r = 0;
  if (!Ratio(factors, divisor, scale, &r)) return Overflow(what());
  return Decimal::FromUnits(r);
}

}  // namespace

Decimal Decimal::Mul(Decimal a, Decimal b) { return Plain({a.units_, b.units_}, 1, 1); }

Decimal Decimal::Mul(Decimal a, Decimal b, Decimal c) {
  return Plain({a.units_, b.units_, c.units_}, 1, 2);
}

Decimal Decimal::Mul(Decimal a, Decimal b, Decimal c, Decimal d) {
  return Plain({a.units_, b.units_, c.units_, d.units_}, 1, 3);
}

Decimal Decimal::Div(Decimal a, Decimal b) {
  if (b.units_ == 0) return Decimal();
  return Plain({a.units_, kOneUnits}, b.units_, 0);
}

Decimal Decimal::MulDiv(Decimal a, Decimal b, Decimal c) {
  if (c.units_ == 0) return Decimal();
  return Plain({a.units_, b.units_}, c.units_, 0);
}

Decimal Decimal::MulDiv(Decimal a, Decimal b, Decimal c, Decimal d) {
  if (d.units_ == 0) return Decimal();
  return Plain({a.units_, b.units_, c.units_}, d.units_, 1);
}

Decimal Decimal::WeightedAverage(Decimal a, Decimal wa, Decimal b, Decimal wb) {
  if (wa.is_negative() || wb.is_negative()) {
    const Decimal total = wa + wb;
    if (total.is_zero()) return Decimal();
    return Div(Mul(a, wa) + Mul(b, wb), total);  // not an average; saturates
  }
  const U128 total = Mag(wa.units_) + Mag(wb.units_);  // below 2 x 10^38 < 2^128
  if (total == 0) return Decimal();
  // a wa + b wb exactly, as a sign and a magnitude (each product < 2^254).
  const Big x = MulBig(BigOf(Mag(a.units_)), Mag(wa.units_));
  const Big y = MulBig(BigOf(Mag(b.units_)), Mag(wb.units_));
  const bool xneg = a.is_negative(), yneg = b.is_negative();
  Big sum;
  bool negative = false;
  if (xneg == yneg) {
    sum = AddBig(x, y);
    negative = xneg;
  } else if (CompareBig(x, y) < 0) {
    sum = SubBig(y, x);
    negative = yneg;
  } else {
    sum = SubBig(x, y);
    negative = xneg;
  }
  U128 mag = 0;
  Units r = 0;
  // Between a and b, so in range; checked all the same.
  if (!DivRoundBig(sum, BigOf(total), &mag) || !Signed(negative, mag, &r)) {
    return negative ? -Max() : Max();
  }
  return FromUnits(r);
}

absl::StatusOr<Decimal> Decimal::CheckedAdd(Decimal a, Decimal b) {
  Units sum = 0;
  if (__builtin_add_overflow(a.units_, b.units_, &sum) || sum > kMaxUnits || sum < -kMaxUnits) {
    return Overflow(absl::StrCat(a.ToString(), " + ", b.ToString()));
  }
  return FromUnits(sum);
}

absl::StatusOr<Decimal> Decimal::CheckedSub(Decimal a, Decimal b) {
  Units diff = 0;
  if (__builtin_sub_overflow(a.units_, b.units_, &diff) || diff > kMaxUnits ||
      diff < -kMaxUnits) {
    return Overflow(absl::StrCat(a.ToString(), " - ", b.ToString()));
  }
  return FromUnits(diff);
}

absl::StatusOr<Decimal> Decimal::CheckedMul(Decimal a, Decimal b) {
  return Checked({a.units_, b.units_}, 1, 1,
                 [&] { return absl::StrCat(a.ToString(), " x ", b.ToString()); });
}

absl::StatusOr<Decimal> Decimal::CheckedMul(Decimal a, Decimal b, Decimal c) {
  return Checked({a.units_, b.units_, c.units_}, 1, 2, [&] {
    return absl::StrCat(a.ToString(), " x ", b.ToString(), " x ", c.ToString());
  });
}

absl::StatusOr<Decimal> Decimal::CheckedMul(Decimal a, Decimal b, Decimal c, Decimal d) {
  return Checked({a.units_, b.units_, c.units_, d.units_}, 1, 3, [&] {
    return absl::StrCat(a.ToString(), " x ", b.ToString(), " x ", c.ToString(), " x ",
                        d.ToString());
  });
}

absl::StatusOr<Decimal> Decimal::CheckedDiv(Decimal a, Decimal b) {
  if (b.units_ == 0) return DivisionByZero(absl::StrCat(a.ToString(), " / 0"));
  return Checked({a.units_, kOneUnits}, b.units_, 0,
                 [&] { return absl::StrCat(a.ToString(), " / ", b.ToString()); });
}

absl::StatusOr<Decimal> Decimal::CheckedMulDiv(Decimal a, Decimal b, Decimal c) {
  if (c.units_ == 0) {
    return DivisionByZero(absl::StrCat(a.ToString(), " x ", b.ToString(), " / 0"));
  }
  return Checked({a.units_, b.units_}, c.units_, 0, [&] {
    return absl::StrCat(a.ToString(), " x ", b.ToString(), " / ", c.ToString());
  });
}

absl::StatusOr<Decimal> Decimal::CheckedMulDiv(Decimal a, Decimal b, Decimal c, Decimal d) {
  if (d.units_ == 0) {
    return DivisionByZero(
        absl::StrCat(a.ToString(), " x ", b.ToString(), " x ", c.ToString(), " / 0"));
  }
  return Checked({a.units_, b.units_, c.units_}, d.units_, 1, [&] {
    return absl::StrCat(a.ToString(), " x ", b.ToString(), " x ", c.ToString(), " / ",
                        d.ToString());
  });
}

}  // namespace xctl
