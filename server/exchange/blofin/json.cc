#include "server/exchange/blofin/json.h"

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"

namespace xctl::blofin {
namespace {

absl::Status Bad(absl::string_view object, absl::string_view field) {
  return absl::UnavailableError(
      absl::StrCat("BloFin sent a ", object, " without a valid \"", field, "\""));
}

absl::StatusOr<std::string> Str(const rapidjson::Value& v, const char* field,
                                absl::string_view object) {
  if (!v.IsObject()) return Bad(object, field);
  auto it = v.FindMember(field);
  if (it == v.MemberEnd() || !it->value.IsString()) return Bad(object, field);
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

// An id: a non-empty string.
absl::StatusOr<std::string> Id(const rapidjson::Value& v, const char* field,
                               absl::string_view object) {
  absl::StatusOr<std::string> s = Str(v, field, object);
  if (s.ok() && s->empty()) return Bad(object, field);
  return s;
}

std::string StrOr(const rapidjson::Value& v, const char* field, absl::string_view fallback) {
  if (!v.IsObject()) return std::string(fallback);
  auto it = v.FindMember(field);
  if (it == v.MemberEnd() || !it->value.IsString()) return std::string(fallback);
  return it->value.GetString();
}

absl::StatusOr<Decimal> Dec(const rapidjson::Value& v, const char* field,
                            absl::string_view object) {
  XCTL_ASSIGN_OR_RETURN(std::string text, Str(v, field, object));
  if (text.empty()) return Decimal();
  auto d = Decimal::Parse(text);
  if (!d.ok()) return Bad(object, field);
  return *d;
}

// An amount that cannot be negative (sizes, prices).
absl::StatusOr<Decimal> Amount(const rapidjson::Value& v, const char* field,
                               absl::string_view object) {
  absl::StatusOr<Decimal> d = Dec(v, field, object);
  if (d.ok() && d->is_negative()) return Bad(object, field);
  return d;
}

int64_t Millis(const rapidjson::Value& v, const char* field) {
  int64_t out = 0;
  return absl::SimpleAtoi(StrOr(v, field, "0"), &out) ? out : 0;
}

absl::StatusOr<Side> SideOf(const rapidjson::Value& v, absl::string_view object) {
  XCTL_ASSIGN_OR_RETURN(std::string side, Str(v, "side", object));
  if (side == "buy") return Side::kBuy;
  if (side == "sell") return Side::kSell;
  return Bad(object, "side");
}

}  // namespace

absl::StatusOr<Order> ParseOrder(const rapidjson::Value& v) {
  constexpr absl::string_view kWhat = "order";
  Order o;
  o.mode = TradingMode::kLive;
  XCTL_ASSIGN_OR_RETURN(o.exchange_order_id, Id(v, "orderId", kWhat));
  o.client_order_id = StrOr(v, "clientOrderId", "");
  XCTL_ASSIGN_OR_RETURN(o.symbol, Id(v, "instId", kWhat));
  XCTL_ASSIGN_OR_RETURN(o.side, SideOf(v, kWhat));
  XCTL_ASSIGN_OR_RETURN(std::string type, Str(v, "orderType", kWhat));
  if (type == "market") {
    o.type = OrderType::kMarket;
  } else if (type == "limit" || type == "post_only" || type == "fok" || type == "ioc") {
    o.type = OrderType::kLimit;  // BloFin's priced order types
  } else {
    return Bad(kWhat, "orderType");
  }
  if (o.type == OrderType::kLimit) {
    XCTL_ASSIGN_OR_RETURN(o.price, Amount(v, "price", kWhat));
  }
  XCTL_ASSIGN_OR_RETURN(o.quantity, Amount(v, "size", kWhat));
  XCTL_ASSIGN_OR_RETURN(std::string state, Str(v, "state", kWhat));
  if (state == "live") {
    o.status = OrderStatus::kOpen;
  } else if (state == "partially_filled") {
    o.status = OrderStatus::kPartiallyFilled;
  } else if (state == "filled") {
    o.status = OrderStatus::kFilled;
  } else if (state == "canceled" || state == "cancelled") {
    o.status = OrderStatus::kCanceled;
  } else if (state == "order_failed") {
    o.status = OrderStatus::kRejected;
  } else {
    return Bad(kWhat, "state");
  }
  XCTL_ASSIGN_OR_RETURN(o.filled_quantity, Amount(v, "filledSize", kWhat));
  o.average_price = Decimal::Parse(StrOr(v, "averagePrice", "0")).value_or(Decimal());
  if (o.average_price.is_negative()) return Bad(kWhat, "averagePrice");
  o.fee = Decimal::Parse(StrOr(v, "fee", "0")).value_or(Decimal()).Abs();
  o.reduce_only = StrOr(v, "reduceOnly", "false") == "true";
  o.create_time_ms = Millis(v, "createTime");
  o.update_time_ms = Millis(v, "updateTime");
  return o;
}

absl::StatusOr<RemoteFill> ParseFill(const rapidjson::Value& v) {
  constexpr absl::string_view kWhat = "fill";
  RemoteFill r;
  XCTL_ASSIGN_OR_RETURN(r.exchange_order_id, Id(v, "orderId", kWhat));
  XCTL_ASSIGN_OR_RETURN(r.fill.exchange_fill_id, Id(v, "tradeId", kWhat));
  XCTL_ASSIGN_OR_RETURN(r.fill.symbol, Id(v, "instId", kWhat));
  XCTL_ASSIGN_OR_RETURN(r.fill.side, SideOf(v, kWhat));
  XCTL_ASSIGN_OR_RETURN(r.fill.price, Amount(v, "fillPrice", kWhat));
  XCTL_ASSIGN_OR_RETURN(r.fill.quantity, Amount(v, "fillSize", kWhat));
  XCTL_ASSIGN_OR_RETURN(Decimal fee, Dec(v, "fee", kWhat));
  r.fill.fee = fee.Abs();
  r.fill.time_ms = Millis(v, "ts");
  r.fill.mode = TradingMode::kLive;
  return r;
}

absl::StatusOr<Position> ParsePosition(const rapidjson::Value& v) {
  constexpr absl::string_view kWhat = "position";
  Position p;
  p.mode = TradingMode::kLive;
  p.exchange = "blofin";
  XCTL_ASSIGN_OR_RETURN(p.symbol, Id(v, "instId", kWhat));
  XCTL_ASSIGN_OR_RETURN(Decimal size, Dec(v, "positions", kWhat));
  p.side = size.is_negative() ? PositionSide::kShort : PositionSide::kLong;
  p.quantity = size.Abs();
  XCTL_ASSIGN_OR_RETURN(p.open_price, Amount(v, "averagePrice", kWhat));
  p.open_time_ms = Millis(v, "createTime");
  return p;
}

absl::StatusOr<Account> ParseBalance(const rapidjson::Value& data) {
  constexpr absl::string_view kWhat = "balance";
  if (!data.IsObject() || !data.HasMember("details") || !data["details"].IsArray()) {
    return Bad(kWhat, "details");
  }
  for (const auto& line : data["details"].GetArray()) {
    if (StrOr(line, "currency", "") != "USDT") continue;
    Account a;
    XCTL_ASSIGN_OR_RETURN(a.balance, Dec(line, "balance", kWhat));
    XCTL_ASSIGN_OR_RETURN(a.margin_used, Dec(line, "frozen", kWhat));
    return a;
  }
  return absl::UnavailableError("BloFin's balance has no USDT line");
}

absl::StatusOr<Instrument> ParseInstrument(const rapidjson::Value& v) {
  constexpr absl::string_view kWhat = "instrument";
  Instrument i;
  XCTL_ASSIGN_OR_RETURN(i.symbol, Id(v, "instId", kWhat));
  XCTL_ASSIGN_OR_RETURN(i.contract_value, Dec(v, "contractValue", kWhat));
  XCTL_ASSIGN_OR_RETURN(i.lot_size, Dec(v, "lotSize", kWhat));
  XCTL_ASSIGN_OR_RETURN(i.min_size, Dec(v, "minSize", kWhat));
  XCTL_ASSIGN_OR_RETURN(i.tick_size, Dec(v, "tickSize", kWhat));
  XCTL_ASSIGN_OR_RETURN(i.max_leverage, Dec(v, "maxLeverage", kWhat));
  if (!i.contract_value.is_positive() || !i.lot_size.is_positive() ||
      !i.tick_size.is_positive() || i.min_size.is_negative() ||
      !i.max_leverage.is_positive()) {
    return Bad(kWhat, "contractValue/lotSize/minSize/tickSize/maxLeverage");
  }
  return i;
}

}  // namespace xctl::blofin
