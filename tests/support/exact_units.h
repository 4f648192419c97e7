// Test support: exact integer arithmetic on Decimal's units (boost cpp_int),
// the independent reference the Decimal tests, the ledger's property
// test and the Decimal fuzz target check results against. Header only, so
// the fuzz build (fuzz/) can use it as well.
#pragma once

#include <cstdint>

#include "boost/multiprecision/cpp_int.hpp"
#include "server/common/decimal.h"

namespace xctl::testing {

using Big = boost::multiprecision::cpp_int;

// The exact value of `u` units.
inline Big ToBig(Decimal::Units u) {
  const bool negative = u < 0;
  __extension__ unsigned __int128 mag =
      negative ? -static_cast<unsigned __int128>(u) : static_cast<unsigned __int128>(u);
  Big b = Big(static_cast<uint64_t>(mag >> 64)) * (Big(1) << 64) + Big(static_cast<uint64_t>(mag));
  return negative ? Big(-b) : b;
}

inline Big Pow10(int n) {
  Big p = 1;
  for (int i = 0; i < n; ++i) p *= 10;
  return p;
}

// Decimal's largest |units|: 10^38 - 1 (docs/decimal.md, "Overflow").
inline const Big& MaxUnits() {
  static const Big max = Pow10(38) - 1;
  return max;
}

inline bool InRange(const Big& units) { return units <= MaxUnits() && units >= -MaxUnits(); }

// n / d rounded half to even (d != 0).
inline Big RoundHalfEven(Big n, Big d) {
  if (d < 0) {
    n = -n;
    d = -d;
  }
  const bool negative = n < 0;
  if (negative) n = -n;
  Big q = n / d, r = n % d;
  if (2 * r > d || (2 * r == d && (q % 2) != 0)) ++q;
  return negative ? Big(-q) : q;
}

}  // namespace xctl::testing
