#include "server/model/types.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace xctl {
namespace {

template <typename E, size_t N>
absl::StatusOr<E> ParseEnum(absl::string_view s, absl::string_view what,
                            const std::pair<absl::string_view, E> (&names)[N]) {
  for (const auto& [name, value] : names) {
    if (name == s) return value;
  }
  std::string valid;
  for (const auto& [name, value] : names) {
    absl::StrAppend(&valid, valid.empty() ? "" : ", ", name);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid ", what, " \"", s.substr(0, 32), "\": expected one of ", valid));
}

constexpr std::pair<absl::string_view, Side> kSides[] = {
    {"buy", Side::kBuy}, {"sell", Side::kSell}};
constexpr std::pair<absl::string_view, PositionSide> kPositionSides[] = {
    {"long", PositionSide::kLong}, {"short", PositionSide::kShort}};
constexpr std::pair<absl::string_view, OrderType> kOrderTypes[] = {
    {"market", OrderType::kMarket}, {"limit", OrderType::kLimit},
    {"post_only", OrderType::kPostOnly}, {"ioc", OrderType::kIoc}, {"fok", OrderType::kFok}};
constexpr std::pair<absl::string_view, OrderStatus> kOrderStatuses[] = {
    {"open", OrderStatus::kOpen},
    {"partially_filled", OrderStatus::kPartiallyFilled},
    {"filled", OrderStatus::kFilled},
    {"canceled", OrderStatus::kCanceled},
    {"rejected", OrderStatus::kRejected}};
constexpr std::pair<absl::string_view, PositionStatus> kPositionStatuses[] = {
    {"open", PositionStatus::kOpen}, {"closed", PositionStatus::kClosed}};
constexpr std::pair<absl::string_view, TradingMode> kModes[] = {
    {"paper", TradingMode::kPaper}, {"live", TradingMode::kLive}};

template <typename E, size_t N>
absl::string_view NameOf(E v, const std::pair<absl::string_view, E> (&names)[N]) {
  for (const auto& [name, value] : names) {
    if (value == v) return name;
  }
  return "unknown";
}

}  // namespace

absl::string_view ToString(Side v) { return NameOf(v, kSides); }
absl::string_view ToString(PositionSide v) { return NameOf(v, kPositionSides); }
absl::string_view ToString(OrderType v) { return NameOf(v, kOrderTypes); }
absl::string_view ToString(OrderStatus v) { return NameOf(v, kOrderStatuses); }
absl::string_view ToString(PositionStatus v) { return NameOf(v, kPositionStatuses); }
absl::string_view ToString(TradingMode v) { return NameOf(v, kModes); }

absl::StatusOr<Side> ParseSide(absl::string_view s) {
  return ParseEnum(s, "side", kSides);
}
absl::StatusOr<PositionSide> ParsePositionSide(absl::string_view s) {
  return ParseEnum(s, "position side", kPositionSides);
}
absl::StatusOr<OrderType> ParseOrderType(absl::string_view s) {
  return ParseEnum(s, "order type", kOrderTypes);
}
absl::StatusOr<OrderStatus> ParseOrderStatus(absl::string_view s) {
  return ParseEnum(s, "order status", kOrderStatuses);
}
absl::StatusOr<PositionStatus> ParsePositionStatus(absl::string_view s) {
  return ParseEnum(s, "position status", kPositionStatuses);
}
absl::StatusOr<TradingMode> ParseTradingMode(absl::string_view s) {
  return ParseEnum(s, "trading mode", kModes);
}

bool MatchesRequest(const Order& o, const OrderRequest& r) {
  return o.symbol == r.symbol && o.side == r.side && o.type == r.type &&
         o.quantity == r.quantity && o.reduce_only == r.reduce_only &&
         o.take_profit == r.take_profit && o.stop_loss == r.stop_loss &&
         (r.type == OrderType::kMarket || o.price == r.price);
}

std::string DescribeOrder(const Order& o) {
  std::string text = absl::StrCat("#", o.id, ": ", ToString(o.side), " ", o.quantity.ToString(),
                                  " ", o.symbol, " ", ToString(o.type));
  if (o.price) absl::StrAppend(&text, " at ", o.price->ToString());
  if (o.reduce_only) absl::StrAppend(&text, " reduce-only");
  for (const auto& [leg, t] : {std::pair{"tp", &o.take_profit}, std::pair{"sl", &o.stop_loss}}) {
    if (!*t) continue;
    absl::StrAppend(&text, " ", leg, " ", (*t)->trigger_price.ToString());
    if ((*t)->order_price) absl::StrAppend(&text, " at ", (*t)->order_price->ToString());
  }
  return text;
}

}  // namespace xctl
