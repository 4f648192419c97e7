// Helpers shared by the fuzz targets: invariant checks that abort (so
// libFuzzer records a crash and writes the reproducer) and Decimal checks.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "open_issues.h"
#include "server/common/decimal.h"

namespace xctl_fuzz {

[[noreturn]] inline void Fail(const char* file, int line, const char* cond,
                              const std::string& detail) {
  std::fprintf(stderr, "\n==== INVARIANT FAILED %s:%d: %s\n     %s\n", file, line, cond,
               detail.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace xctl_fuzz

// FUZZ_CHECK(cond, detail): `detail` is a std::string expression, only
// evaluated on failure.
#define FUZZ_CHECK(cond, detail)                                              \
  do {                                                                        \
    if (!(cond)) ::xctl_fuzz::Fail(__FILE__, __LINE__, #cond, (detail));      \
  } while (false)

// FUZZ_OPEN(issue, cond, detail): an invariant the code is known to break
// (open_issues.h). Enforced when `issue` is not listed there, or when
// XCTL_FUZZ_STRICT=1.
#define FUZZ_OPEN(issue, cond, detail)                                        \
  do {                                                                        \
    if (!(cond) && ::xctl_fuzz::Enforced(issue)) {                            \
      ::xctl_fuzz::Fail(__FILE__, __LINE__, "[" issue "] " #cond, (detail));  \
    }                                                                         \
  } while (false)

namespace xctl_fuzz {

inline bool Strict() {
  static const bool strict = [] {
    const char* v = std::getenv("XCTL_FUZZ_STRICT");
    return v != nullptr && v[0] != '\0' && v[0] != '0';
  }();
  return strict;
}

inline bool Enforced(absl::string_view issue) {
  if (Strict()) return true;
  for (absl::string_view open : kOpenIssues) {
    if (open == issue) return false;
  }
  return true;
}

// Quotes a value for failure messages, bytes outside printable ASCII as \xNN.
inline std::string Q(absl::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s.substr(0, 200)) {
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (s.size() > 200) out += "...";
  return out + "\"";
}

// "640005000000000 units (640005)": the 128-bit units and the value.
inline std::string Units(xctl::Decimal d) {
  const xctl::Decimal::Units u = d.units();
  __extension__ unsigned __int128 mag =
      u < 0 ? -static_cast<unsigned __int128>(u) : static_cast<unsigned __int128>(u);
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(mag % 10)));
    mag /= 10;
  } while (mag != 0);
  return (u < 0 ? "-" : "") + digits + " units (" + d.ToString() + ")";
}

// Every Decimal the code hands on is printed and read back as plain notation
// (API, database): Parse(ToString(d)) must give d back, and ToString must be
// canonical (no "-0", no leading zeros, no trailing fraction zeros).
inline void CheckRoundTrip(xctl::Decimal d, const char* what) {
  std::string s = d.ToString();
  auto back = xctl::Decimal::Parse(s);
  FUZZ_CHECK(back.ok(), std::string(what) + ": " + Units(d) + " prints as " + Q(s) +
                            " which Parse refuses: " + std::string(back.status().message()));
  FUZZ_CHECK(*back == d, std::string(what) + ": " + Units(d) + " prints as " + Q(s) +
                             " which parses back as " + Units(*back));
  FUZZ_CHECK(back->ToString() == s, std::string(what) + ": not canonical: " + Q(s));
  absl::string_view v = s;
  if (!v.empty() && v[0] == '-') v.remove_prefix(1);
  FUZZ_CHECK(!v.empty() && s != "-0", std::string(what) + ": bad print " + Q(s));
  FUZZ_CHECK(v.size() == 1 || v[0] != '0' || v[1] == '.',
             std::string(what) + ": leading zero in " + Q(s));
  if (v.find('.') != absl::string_view::npos) {
    FUZZ_CHECK(v.back() != '0' && v.back() != '.',
               std::string(what) + ": trailing zero in " + Q(s));
  }
}

inline std::string StatusText(const absl::Status& s) { return s.ToString(); }

}  // namespace xctl_fuzz
