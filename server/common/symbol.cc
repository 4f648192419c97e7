#include "server/common/symbol.h"

#include "absl/strings/str_cat.h"

namespace xctl {
namespace {

bool IsUpperAlnum(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::string Shown(absl::string_view s) {
  // Quote at most 64 bytes so huge or binary inputs stay readable in errors.
  std::string out;
  for (char c : s.substr(0, 64)) {
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (s.size() > 64) out += "...";
  return out;
}

}  // namespace

absl::Status ValidateSymbol(absl::string_view symbol) {
  size_t dash = symbol.find('-');
  bool ok = dash != absl::string_view::npos && dash > 0 && dash <= 20 &&
            symbol.size() - dash - 1 >= 1 && symbol.size() - dash - 1 <= 20;
  for (size_t i = 0; ok && i < symbol.size(); ++i) {
    if (i != dash && !IsUpperAlnum(symbol[i])) ok = false;
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid symbol \"", Shown(symbol),
      "\": expected a BloFin instrument id BASE-QUOTE in uppercase, such as "
      "BTC-USDT"));
}

absl::Status ValidateStrategyId(absl::string_view id) {
  bool ok = !id.empty() && id.size() <= 64;
  for (size_t i = 0; ok && i < id.size(); ++i) {
    char c = id[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && !(i > 0 && (c == '-' || c == '_'))) ok = false;
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid strategy id \"", Shown(id),
      "\": expected 1-64 characters of a-z, 0-9, '-' and '_', starting with a "
      "letter or digit"));
}

}  // namespace xctl
