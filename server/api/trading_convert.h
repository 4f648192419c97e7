// Conversions between the trading types (server/model/types.h) and the
// xctl.v1 messages of exchange_control.proto and types.proto. Enum inputs
// from clients are checked here, with errors that name the field.
#pragma once

#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/model/types.h"
#include "xctl/v1/exchange_control.pb.h"
#include "xctl/v1/types.pb.h"

namespace xctl::api {

v1::Side ToProto(Side v);
v1::PositionSide ToProto(PositionSide v);
v1::OrderType ToProto(OrderType v);
v1::OrderStatus ToProto(OrderStatus v);
v1::PositionStatus ToProto(PositionStatus v);
v1::TradingMode ToProto(TradingMode v);

// INVALID_ARGUMENT "<field>: ..." for UNSPECIFIED or unknown values.
absl::StatusOr<Side> SideFromProto(v1::Side v, absl::string_view field);
absl::StatusOr<OrderType> OrderTypeFromProto(v1::OrderType v, absl::string_view field);
// The request's take_profit (or stop_loss when `take_profit` is false): nullopt
// when unset; INVALID_ARGUMENT naming `field` when its trigger_price is
// missing (an order_price alone) or a decimal is malformed.
absl::StatusOr<std::optional<TriggerOrder>> TriggerFromProto(const v1::PlaceOrderRequest& req,
                                                             bool take_profit,
                                                             absl::string_view field);
// List filters: nullopt for UNSPECIFIED (a filter that matches everything);
// INVALID_ARGUMENT naming `field` and the accepted values for a number the
// enum does not define ("status: unknown value 99; one of
// ORDER_STATUS_UNSPECIFIED (all), ORDER_STATUS_OPEN, ...").
absl::StatusOr<std::optional<OrderStatus>> OrderStatusFilter(v1::OrderStatus v,
                                                             absl::string_view field);
absl::StatusOr<std::optional<PositionStatus>> PositionStatusFilter(v1::PositionStatus v,
                                                                   absl::string_view field);
absl::StatusOr<std::optional<TradingMode>> TradingModeFilter(v1::TradingMode v,
                                                             absl::string_view field);
// The INVALID_ARGUMENT of an unknown enum number in a filter.
absl::Status UnknownEnumValue(const google::protobuf::EnumDescriptor* d, int value,
                              absl::string_view field);

// Ids are sent as decimal strings. Positions get no mark, unrealized PnL or
// strategy type here (exchange control adds them).
void ToProto(const Order& order, v1::Order* out);
void ToProto(const Fill& fill, v1::Fill* out);
void ToProto(const Position& position, v1::Position* out);
void ToProto(const Instrument& instrument, v1::Instrument* out);

}  // namespace xctl::api
