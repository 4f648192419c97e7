// Fuzzes ParseSignal (server/strategy/signal.h), the check of a TradingView
// alert / SubmitSignal request.
//
// Input, either
//   - the alert JSON as TradingView posts it to the gateway
//     ({"strategy_id":..., "action":..., "symbol":..., "quantity":...,
//       "price":..., "secret":..., "client_order_id":..., "comment":...});
//     a known field that is not a string is refused before xctld, so such
//     inputs are skipped; or
//   - anything else: fields separated by '\n' in the order action, symbol,
//     quantity, price, client_order_id, comment, strategy_id, secret.
//
// Invariants: errors are INVALID_ARGUMENT naming the field; the result never
// depends on the secret; a parsed signal has a valid action and symbol,
// quantity > 0 (required unless close), price > 0 and never on close, both
// exactly the decimals sent, and the free fields passed through.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "fuzz_check.h"
#include "rapidjson/document.h"
#include "server/strategy/signal.h"

using xctl::Decimal;
using xctl::SignalAction;
using xctl::SignalRequest;
using xctl_fuzz::CheckRoundTrip;
using xctl_fuzz::Q;
using xctl_fuzz::Units;

namespace {

bool FromJson(absl::string_view input, SignalRequest* r) {
  rapidjson::Document doc;
  doc.Parse(input.data(), input.size());
  if (doc.HasParseError() || !doc.IsObject()) return false;
  const std::pair<const char*, std::string*> fields[] = {
      {"strategy_id", &r->strategy_id}, {"action", &r->action},
      {"symbol", &r->symbol},           {"quantity", &r->quantity},
      {"price", &r->price},             {"secret", &r->secret},
      {"client_order_id", &r->client_order_id}, {"comment", &r->comment}};
  for (const auto& [name, out] : fields) {
    auto it = doc.FindMember(name);
    if (it == doc.MemberEnd()) continue;
    if (!it->value.IsString()) return false;
    out->assign(it->value.GetString(), it->value.GetStringLength());
  }
  return true;
}

void FromLines(absl::string_view input, SignalRequest* r) {
  std::vector<std::string> f = absl::StrSplit(input, absl::MaxSplits('\n', 7));
  f.resize(8);
  r->action = f[0];
  r->symbol = f[1];
  r->quantity = f[2];
  r->price = f[3];
  r->client_order_id = f[4];
  r->comment = f[5];
  r->strategy_id = f[6];
  r->secret = f[7];
}

bool UpperAlnum(absl::string_view s) {
  if (s.empty() || s.size() > 20) return false;
  for (char c : s) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

// BASE-QUOTE, each 1-20 of A-Z 0-9 (server/common/symbol.h), independently.
bool ValidSymbol(absl::string_view s) {
  std::vector<absl::string_view> parts = absl::StrSplit(s, '-');
  return parts.size() == 2 && UpperAlnum(parts[0]) && UpperAlnum(parts[1]);
}

void CheckField(const std::string& text, const std::optional<Decimal>& value,
                const char* name) {
  if (text.empty()) {
    FUZZ_CHECK(!value.has_value(), std::string(name) + ": empty text but a value");
    return;
  }
  FUZZ_CHECK(value.has_value(), std::string(name) + ": " + Q(text) + " dropped");
  auto parsed = Decimal::Parse(text);
  FUZZ_CHECK(parsed.ok() && *parsed == *value,
             std::string(name) + ": " + Q(text) + " became " + Units(*value));
  FUZZ_CHECK(value->is_positive(), std::string(name) + ": not > 0: " + Units(*value));
  CheckRoundTrip(*value, name);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  SignalRequest request;
  if (!input.empty() && input[0] == '{') {
    if (!FromJson(input, &request)) return 0;
  } else {
    FromLines(input, &request);
  }

  auto signal = xctl::ParseSignal(request);
  SignalRequest without_secret = request;
  without_secret.secret.clear();
  auto again = xctl::ParseSignal(without_secret);
  FUZZ_CHECK(signal.ok() == again.ok() && signal.status() == again.status(),
             "the result depends on the secret");

  if (!signal.ok()) {
    const absl::Status& s = signal.status();
    FUZZ_CHECK(s.code() == absl::StatusCode::kInvalidArgument, s.ToString());
    absl::string_view m = s.message();
    FUZZ_CHECK(absl::StartsWith(m, "action: ") || absl::StartsWith(m, "symbol: ") ||
                   absl::StartsWith(m, "quantity: ") || absl::StartsWith(m, "price: "),
               "error does not name the field: " + s.ToString());
    return 0;
  }

  std::string action(absl::StripAsciiWhitespace(request.action));
  absl::AsciiStrToLower(&action);
  SignalAction expected = action == "buy"    ? SignalAction::kBuy
                          : action == "sell" ? SignalAction::kSell
                                             : SignalAction::kClose;
  FUZZ_CHECK(action == "buy" || action == "sell" || action == "close",
             "accepted action " + Q(request.action));
  FUZZ_CHECK(signal->action == expected, "action " + Q(request.action) + " mapped wrongly");
  FUZZ_CHECK(ValidSymbol(signal->symbol), "accepted symbol " + Q(signal->symbol));
  FUZZ_CHECK(signal->symbol == request.symbol, "symbol changed");
  CheckField(request.quantity, signal->quantity, "quantity");
  CheckField(request.price, signal->price, "price");
  if (signal->action != SignalAction::kClose) {
    FUZZ_CHECK(signal->quantity.has_value(), "buy/sell without a quantity");
  } else {
    FUZZ_CHECK(!signal->price.has_value(), "close with a limit price");
  }
  FUZZ_CHECK(signal->client_order_id == request.client_order_id &&
                 signal->comment == request.comment,
             "free fields not passed through");
  return 0;
}
