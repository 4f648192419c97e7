#include "server/strategy/signal.h"

#include <openssl/sha.h>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "server/common/log.h"
#include "server/common/symbol.h"

namespace xctl {
namespace {

// A decimal field > 0, or nullopt when empty.
absl::StatusOr<std::optional<Decimal>> PositiveField(absl::string_view text,
                                                     absl::string_view field) {
  if (text.empty()) return std::optional<Decimal>();
  auto value = Decimal::Parse(text);
  if (!value.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", value.status().message()));
  }
  if (!value->is_positive()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": must be greater than 0, got ", LogQuote(text)));
  }
  return std::optional<Decimal>(*value);
}

}  // namespace

absl::StatusOr<Signal> ParseSignal(const SignalRequest& request) {
  Signal signal;
  std::string action = absl::AsciiStrToLower(absl::StripAsciiWhitespace(request.action));
  if (action == "buy") {
    signal.action = SignalAction::kBuy;
  } else if (action == "sell") {
    signal.action = SignalAction::kSell;
  } else if (action == "close") {
    signal.action = SignalAction::kClose;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "action: must be \"buy\", \"sell\" or \"close\", got ", LogQuote(request.action)));
  }
  if (absl::Status s = ValidateSymbol(request.symbol); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("symbol: ", s.message()));
  }
  signal.symbol = request.symbol;
  auto quantity = PositiveField(request.quantity, "quantity");
  if (!quantity.ok()) return quantity.status();
  signal.quantity = *quantity;
  if (!signal.quantity && signal.action != SignalAction::kClose) {
    return absl::InvalidArgumentError(absl::StrCat(
        "quantity: required for ", action, " (contracts, such as \"0.1\"); only close may "
        "leave it empty to close the whole position"));
  }
  auto price = PositiveField(request.price, "price");
  if (!price.ok()) return price.status();
  signal.price = *price;
  if (signal.price && signal.action == SignalAction::kClose) {
    return absl::InvalidArgumentError(
        "price: close is a market order and takes no price; leave price empty");
  }
  signal.client_order_id = request.client_order_id;
  signal.comment = request.comment;
  return signal;
}

std::string DerivedSignalOrderId(absl::string_view strategy_id, const Signal& signal,
                                 int64_t minute) {
  // Length-prefixed fields: no two different signals serialize alike.
  std::string text = "xctl.signal.v1";
  auto add = [&text](absl::string_view field) {
    absl::StrAppend(&text, "|", field.size(), ":", field);
  };
  add(strategy_id);
  add(ToString(signal.action));
  add(signal.symbol);
  add(signal.quantity ? signal.quantity->ToString() : "");
  add(signal.price ? signal.price->ToString() : "");
  add(signal.comment);
  add(absl::StrCat(minute));
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  const std::string hex =
      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), 15));
  return absl::StrCat("tv", hex);
}

}  // namespace xctl
