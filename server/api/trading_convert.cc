#include "server/api/trading_convert.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/api/convert.h"
#include "server/common/status_macros.h"

namespace xctl::api {

v1::Side ToProto(Side v) { return v == Side::kBuy ? v1::SIDE_BUY : v1::SIDE_SELL; }

v1::PositionSide ToProto(PositionSide v) {
  return v == PositionSide::kLong ? v1::POSITION_SIDE_LONG : v1::POSITION_SIDE_SHORT;
}

v1::OrderType ToProto(OrderType v) {
  switch (v) {
    case OrderType::kMarket: return v1::ORDER_TYPE_MARKET;
    case OrderType::kLimit: return v1::ORDER_TYPE_LIMIT;
    case OrderType::kPostOnly: return v1::ORDER_TYPE_POST_ONLY;
    case OrderType::kIoc: return v1::ORDER_TYPE_IOC;
    case OrderType::kFok: return v1::ORDER_TYPE_FOK;
  }
  return v1::ORDER_TYPE_UNSPECIFIED;
}

v1::OrderStatus ToProto(OrderStatus v) {
  switch (v) {
    case OrderStatus::kOpen: return v1::ORDER_STATUS_OPEN;
    case OrderStatus::kPartiallyFilled: return v1::ORDER_STATUS_PARTIALLY_FILLED;
    case OrderStatus::kFilled: return v1::ORDER_STATUS_FILLED;
    case OrderStatus::kCanceled: return v1::ORDER_STATUS_CANCELED;
    case OrderStatus::kRejected: return v1::ORDER_STATUS_REJECTED;
  }
  return v1::ORDER_STATUS_UNSPECIFIED;
}

v1::PositionStatus ToProto(PositionStatus v) {
  return v == PositionStatus::kOpen ? v1::POSITION_STATUS_OPEN : v1::POSITION_STATUS_CLOSED;
}

v1::TradingMode ToProto(TradingMode v) {
  return v == TradingMode::kPaper ? v1::TRADING_MODE_PAPER : v1::TRADING_MODE_LIVE;
}

absl::StatusOr<Side> SideFromProto(v1::Side v, absl::string_view field) {
  if (v == v1::SIDE_BUY) return Side::kBuy;
  if (v == v1::SIDE_SELL) return Side::kSell;
  return absl::InvalidArgumentError(absl::StrCat(field, ": must be SIDE_BUY or SIDE_SELL"));
}

absl::StatusOr<OrderType> OrderTypeFromProto(v1::OrderType v, absl::string_view field) {
  switch (v) {
    case v1::ORDER_TYPE_MARKET: return OrderType::kMarket;
    case v1::ORDER_TYPE_LIMIT: return OrderType::kLimit;
    case v1::ORDER_TYPE_POST_ONLY: return OrderType::kPostOnly;
    case v1::ORDER_TYPE_IOC: return OrderType::kIoc;
    case v1::ORDER_TYPE_FOK: return OrderType::kFok;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          field, ": must be ORDER_TYPE_MARKET, ORDER_TYPE_LIMIT, ORDER_TYPE_POST_ONLY, "
                 "ORDER_TYPE_IOC or ORDER_TYPE_FOK"));
  }
}

absl::StatusOr<std::optional<TriggerOrder>> TriggerFromProto(const v1::PlaceOrderRequest& req,
                                                             bool take_profit,
                                                             absl::string_view field) {
  const bool set = take_profit ? req.has_take_profit() : req.has_stop_loss();
  if (!set) return std::optional<TriggerOrder>();
  const v1::TriggerOrder& t = take_profit ? req.take_profit() : req.stop_loss();
  const std::string trigger_field = absl::StrCat(field, ".trigger_price");
  if (t.trigger_price().value().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        trigger_field, ": required when ", field, " is set (", field,
        ".order_price alone means nothing; leave it unset to close at market)"));
  }
  TriggerOrder out;
  XCTL_ASSIGN_OR_RETURN(out.trigger_price, RequiredDecimal(t.trigger_price(), trigger_field));
  XCTL_ASSIGN_OR_RETURN(out.order_price,
                        OptionalDecimal(t.order_price(), absl::StrCat(field, ".order_price")));
  return std::optional<TriggerOrder>(out);
}

namespace {

void TriggerToProto(const std::optional<TriggerOrder>& t, v1::TriggerOrder* out) {
  ToProto(t->trigger_price, out->mutable_trigger_price());
  if (t->order_price) ToProto(*t->order_price, out->mutable_order_price());
}

}  // namespace

absl::Status UnknownEnumValue(const google::protobuf::EnumDescriptor* d, int value,
                              absl::string_view field) {
  std::vector<std::string> names;
  for (int i = 0; i < d->value_count(); ++i) {
    const auto* v = d->value(i);
    names.push_back(v->number() == 0 ? absl::StrCat(v->name(), " (all)") : std::string(v->name()));
  }
  return absl::InvalidArgumentError(absl::StrCat(field, ": unknown value ", value, "; one of ",
                                                 absl::StrJoin(names, ", ")));
}

absl::StatusOr<std::optional<OrderStatus>> OrderStatusFilter(v1::OrderStatus v,
                                                             absl::string_view field) {
  switch (v) {
    case v1::ORDER_STATUS_UNSPECIFIED: return std::optional<OrderStatus>();
    case v1::ORDER_STATUS_OPEN: return std::optional(OrderStatus::kOpen);
    case v1::ORDER_STATUS_PARTIALLY_FILLED: return std::optional(OrderStatus::kPartiallyFilled);
    case v1::ORDER_STATUS_FILLED: return std::optional(OrderStatus::kFilled);
    case v1::ORDER_STATUS_CANCELED: return std::optional(OrderStatus::kCanceled);
    case v1::ORDER_STATUS_REJECTED: return std::optional(OrderStatus::kRejected);
    default: return UnknownEnumValue(v1::OrderStatus_descriptor(), v, field);
  }
}

absl::StatusOr<std::optional<PositionStatus>> PositionStatusFilter(v1::PositionStatus v,
                                                                   absl::string_view field) {
  switch (v) {
    case v1::POSITION_STATUS_UNSPECIFIED: return std::optional<PositionStatus>();
    case v1::POSITION_STATUS_OPEN: return std::optional(PositionStatus::kOpen);
    case v1::POSITION_STATUS_CLOSED: return std::optional(PositionStatus::kClosed);
    default: return UnknownEnumValue(v1::PositionStatus_descriptor(), v, field);
  }
}

absl::StatusOr<std::optional<TradingMode>> TradingModeFilter(v1::TradingMode v,
                                                             absl::string_view field) {
  switch (v) {
    case v1::TRADING_MODE_UNSPECIFIED: return std::optional<TradingMode>();
    case v1::TRADING_MODE_PAPER: return std::optional(TradingMode::kPaper);
    case v1::TRADING_MODE_LIVE: return std::optional(TradingMode::kLive);
    default: return UnknownEnumValue(v1::TradingMode_descriptor(), v, field);
  }
}

void ToProto(const Order& o, v1::Order* out) {
  out->set_id(absl::StrCat(o.id));
  out->set_strategy_id(o.strategy_id);
  out->set_client_order_id(o.client_order_id);
  out->set_exchange_order_id(o.exchange_order_id.empty() && o.mode == TradingMode::kPaper
                                 ? absl::StrCat("paper-", o.id)
                                 : o.exchange_order_id);
  out->set_symbol(o.symbol);
  out->set_side(ToProto(o.side));
  out->set_type(ToProto(o.type));
  if (o.price) ToProto(*o.price, out->mutable_price());
  ToProto(o.quantity, out->mutable_quantity());
  out->set_status(ToProto(o.status));
  ToProto(o.filled_quantity, out->mutable_filled_quantity());
  ToProto(o.average_price, out->mutable_average_price());
  ToProto(o.fee, out->mutable_fee());
  out->set_reduce_only(o.reduce_only);
  out->set_mode(ToProto(o.mode));
  out->set_reject_reason(o.reject_reason);
  ToProtoTime(o.create_time_ms, out->mutable_create_time());
  ToProtoTime(o.update_time_ms, out->mutable_update_time());
  if (o.take_profit) TriggerToProto(o.take_profit, out->mutable_take_profit());
  if (o.stop_loss) TriggerToProto(o.stop_loss, out->mutable_stop_loss());
}

void ToProto(const Fill& f, v1::Fill* out) {
  out->set_id(absl::StrCat(f.id));
  out->set_order_id(absl::StrCat(f.order_id));
  ToProto(f.price, out->mutable_price());
  ToProto(f.quantity, out->mutable_quantity());
  ToProto(f.fee, out->mutable_fee());
  out->set_maker(f.maker);
  ToProtoTime(f.time_ms, out->mutable_time());
}

void ToProto(const Position& p, v1::Position* out) {
  out->set_id(absl::StrCat(p.id));
  out->set_strategy_id(p.strategy_id);
  out->set_symbol(p.symbol);
  out->set_side(ToProto(p.side));
  ToProtoTime(p.open_time_ms, out->mutable_open_time());
  if (p.close_time_ms) ToProtoTime(*p.close_time_ms, out->mutable_close_time());
  ToProto(p.open_price, out->mutable_open_price());
  if (p.close_price) ToProto(*p.close_price, out->mutable_close_price());
  ToProto(p.quantity, out->mutable_quantity());
  out->set_status(ToProto(p.status));
  if (p.pnl) ToProto(*p.pnl, out->mutable_pnl());
  ToProto(p.fees, out->mutable_fees());
  out->set_mode(ToProto(p.mode));
  out->set_exchange(p.exchange);
  if (p.take_profit) TriggerToProto(p.take_profit, out->mutable_take_profit());
  if (p.stop_loss) TriggerToProto(p.stop_loss, out->mutable_stop_loss());
}

void ToProto(const Instrument& i, v1::Instrument* out) {
  out->set_symbol(i.symbol);
  ToProto(i.contract_value, out->mutable_contract_value());
  ToProto(i.lot_size, out->mutable_lot_size());
  ToProto(i.min_size, out->mutable_min_size());
  ToProto(i.tick_size, out->mutable_tick_size());
  ToProto(i.max_leverage, out->mutable_max_leverage());
}

}  // namespace xctl::api
