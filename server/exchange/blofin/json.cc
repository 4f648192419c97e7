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

// A money value (balance, fee, average price, PnL): BloFin sends up to 18 or
// more fraction digits ("61.338743775651804468"); rounded half to even to
// Decimal's 9 places (docs/decimal.md, "Numbers from BloFin"). "" and null
// are zero (index.md: "If none is filled, it will return \"\"").
absl::StatusOr<Decimal> Money(const rapidjson::Value& v, const char* field,
                              absl::string_view object) {
  if (!v.IsObject()) return Bad(object, field);
  auto it = v.FindMember(field);
  if (it == v.MemberEnd() || it->value.IsNull()) return Decimal();
  if (!it->value.IsString()) return Bad(object, field);
  absl::string_view text(it->value.GetString(), it->value.GetStringLength());
  if (text.empty()) return Decimal();
  auto d = Decimal::ParseRounded(text);
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

// One TP/SL leg of an order (index.md "GET Order Detail": tpTriggerPrice,
// tpOrderPrice, "-1" = market; the example sends null order prices with a
// trigger set, read as market too). No trigger (absent, null, "" or "0"): no
// leg.
absl::StatusOr<std::optional<TriggerOrder>> Trigger(const rapidjson::Value& v,
                                                    const char* trigger_field,
                                                    const char* price_field,
                                                    absl::string_view object) {
  auto present = [&](const char* field) {
    auto it = v.FindMember(field);
    return it != v.MemberEnd() && it->value.IsString() && it->value.GetStringLength() > 0;
  };
  if (!v.IsObject() || !present(trigger_field)) return std::optional<TriggerOrder>();
  XCTL_ASSIGN_OR_RETURN(Decimal trigger, Amount(v, trigger_field, object));
  if (trigger.is_zero()) return std::optional<TriggerOrder>();
  TriggerOrder t{.trigger_price = trigger};
  if (present(price_field)) {
    // "-1" may come as "-1.000000000000000000" (18 digits, like every price).
    XCTL_ASSIGN_OR_RETURN(Decimal price, Dec(v, price_field, object));
    if (price.is_positive()) {
      t.order_price = price;
    } else if (price != Decimal::FromInt(-1) && !price.is_zero()) {
      return Bad(object, price_field);
    }
  }
  return std::optional<TriggerOrder>(t);
}

}  // namespace

absl::StatusOr<Order> ParseOrder(const rapidjson::Value& v) {
  constexpr absl::string_view kWhat = "order";
  Order o;
  o.mode = TradingMode::kLive;
  XCTL_ASSIGN_OR_RETURN(o.exchange_order_id, Id(v, "orderId", kWhat));
  o.client_order_id = StrOr(v, "clientOrderId", "");  // "" or null when none was given
  XCTL_ASSIGN_OR_RETURN(o.symbol, Id(v, "instId", kWhat));
  XCTL_ASSIGN_OR_RETURN(o.side, SideOf(v, kWhat));
  XCTL_ASSIGN_OR_RETURN(std::string type, Str(v, "orderType", kWhat));
  // index.md, "Place Order": market, limit, post_only, fok, ioc.
  absl::StatusOr<OrderType> parsed = ParseOrderType(type);
  if (!parsed.ok()) return Bad(kWhat, "orderType");
  o.type = *parsed;
  if (IsPriced(o.type)) {
    XCTL_ASSIGN_OR_RETURN(o.price, Amount(v, "price", kWhat));
  }  // a market order's "price" is "0.000000000000000000" (ccxt's recorded answers)
  XCTL_ASSIGN_OR_RETURN(o.quantity, Amount(v, "size", kWhat));
  XCTL_ASSIGN_OR_RETURN(std::string state, Str(v, "state", kWhat));
  // index.md, "GET Active Orders" (live, partially_filled) and "GET Order
  // History" (canceled, filled, partially_canceled: a final state whose
  // filled part stays); order_failed from the algo/TPSL pages.
  if (state == "live") {
    o.status = OrderStatus::kOpen;
  } else if (state == "partially_filled") {
    o.status = OrderStatus::kPartiallyFilled;
  } else if (state == "filled") {
    o.status = OrderStatus::kFilled;
  } else if (state == "canceled" || state == "partially_canceled") {
    o.status = OrderStatus::kCanceled;
  } else if (state == "order_failed") {
    o.status = OrderStatus::kRejected;
  } else {
    return Bad(kWhat, "state");
  }
  XCTL_ASSIGN_OR_RETURN(o.filled_quantity, Amount(v, "filledSize", kWhat));
  XCTL_ASSIGN_OR_RETURN(o.average_price, Money(v, "averagePrice", kWhat));
  if (o.average_price.is_negative()) return Bad(kWhat, "averagePrice");
  // "Fee and rebate": a charge is positive, a maker rebate negative; kept as
  // sent so rebates count in KPIs.
  XCTL_ASSIGN_OR_RETURN(o.fee, Money(v, "fee", kWhat));
  o.reduce_only = StrOr(v, "reduceOnly", "false") == "true";
  o.create_time_ms = Millis(v, "createTime");
  o.update_time_ms = Millis(v, "updateTime");
  XCTL_ASSIGN_OR_RETURN(o.take_profit, Trigger(v, "tpTriggerPrice", "tpOrderPrice", kWhat));
  XCTL_ASSIGN_OR_RETURN(o.stop_loss, Trigger(v, "slTriggerPrice", "slOrderPrice", kWhat));
  return o;
}

std::string OrderCategory(const rapidjson::Value& v) {
  return StrOr(v, "orderCategory", "normal");
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
  if (!r.fill.quantity.is_positive()) return Bad(kWhat, "fillSize");
  XCTL_ASSIGN_OR_RETURN(r.fill.fee, Money(v, "fee", kWhat));  // a rebate is negative
  r.fill.time_ms = Millis(v, "ts");
  r.fill.mode = TradingMode::kLive;
  return r;
}

absl::StatusOr<RemotePosition> ParsePosition(const rapidjson::Value& v) {
  constexpr absl::string_view kWhat = "position";
  RemotePosition r;
  Position& p = r.position;
  p.mode = TradingMode::kLive;
  p.exchange = "blofin";
  XCTL_ASSIGN_OR_RETURN(p.symbol, Id(v, "instId", kWhat));
  r.margin_mode = StrOr(v, "marginMode", "cross");
  r.position_side = StrOr(v, "positionSide", "net");
  XCTL_ASSIGN_OR_RETURN(Decimal size, Dec(v, "positions", kWhat));
  // index.md, "GET Positions": net: positive long, negative short; long and
  // short (hedge mode): "positions is positive".
  if (r.position_side == "net") {
    p.side = size.is_negative() ? PositionSide::kShort : PositionSide::kLong;
  } else if (r.position_side == "long" || r.position_side == "short") {
    if (size.is_negative()) return Bad(kWhat, "positions");
    p.side = r.position_side == "long" ? PositionSide::kLong : PositionSide::kShort;
  } else {
    return Bad(kWhat, "positionSide");
  }
  p.quantity = size.Abs();
  XCTL_ASSIGN_OR_RETURN(p.open_price, Money(v, "averagePrice", kWhat));
  if (p.open_price.is_negative()) return Bad(kWhat, "averagePrice");
  p.open_time_ms = Millis(v, "createTime");
  return r;
}

absl::StatusOr<Account> ParseBalance(const rapidjson::Value& data) {
  constexpr absl::string_view kWhat = "balance";
  if (!data.IsObject() || !data.HasMember("details") || !data["details"].IsArray()) {
    return Bad(kWhat, "details");
  }
  for (const auto& line : data["details"].GetArray()) {
    if (StrOr(line, "currency", "") != "USDT") continue;
    Account a;
    XCTL_ASSIGN_OR_RETURN(a.balance, Money(line, "balance", kWhat));
    XCTL_ASSIGN_OR_RETURN(a.margin_used, Money(line, "frozen", kWhat));
    return a;
  }
  return absl::UnavailableError(
      "BloFin's futures balance has no USDT line (index.md, \"GET Futures Account Balance\" "
      "lists assets with a non-zero balance only: fund the futures account with USDT)");
}

absl::StatusOr<std::string> ParsePositionMode(const rapidjson::Value& data) {
  XCTL_ASSIGN_OR_RETURN(std::string mode, Str(data, "positionMode", "position mode"));
  if (mode != "net_mode" && mode != "long_short_mode") return Bad("position mode", "positionMode");
  return mode;
}

absl::StatusOr<std::string> ParseMarginMode(const rapidjson::Value& data) {
  XCTL_ASSIGN_OR_RETURN(std::string mode, Str(data, "marginMode", "margin mode"));
  if (mode != "cross" && mode != "isolated") return Bad("margin mode", "marginMode");
  return mode;
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
  // index.md, "GET Instruments": the largest market / limit order in
  // contracts (exact, > 0; absent or "" is no limit), and the state, "live"
  // or "suspend" (absent is live; anything but "live" refuses orders).
  for (const auto& [field, out] : {std::pair{"maxMarketSize", &i.max_market_size},
                                   std::pair{"maxLimitSize", &i.max_limit_size}}) {
    const std::string text = StrOr(v, field, "");
    if (text.empty()) continue;
    absl::StatusOr<Decimal> size = Decimal::Parse(text);
    if (!size.ok() || !size->is_positive()) return Bad(kWhat, field);
    *out = *size;
  }
  i.live = StrOr(v, "state", "live") == "live";
  return i;
}

}  // namespace xctl::blofin
