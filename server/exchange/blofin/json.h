// BloFin's JSON objects (REST API v1) read into xctl's trading types.
// Numbers arrive as decimal strings; a missing or malformed field is
// UNAVAILABLE naming the field (BloFin answered something unexpected).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "rapidjson/document.h"
#include "server/exchange/types.h"

namespace xctl::blofin {

// An order of orders-pending / orders-history: exchange_order_id,
// client_order_id, symbol, side, type, price (limit only), quantity, status
// (live -> open, partially_filled, filled, canceled, order_failed ->
// rejected), filled quantity, average price, fee (positive), reduce_only,
// times. Mode is live; id and strategy_id are left to the caller.
absl::StatusOr<Order> ParseOrder(const rapidjson::Value& v);

// A fill of fills-history, with the BloFin order id it belongs to.
struct RemoteFill {
  std::string exchange_order_id;
  Fill fill;
};
absl::StatusOr<RemoteFill> ParseFill(const rapidjson::Value& v);

// A net position of account/positions: side from the sign of "positions",
// quantity its absolute value, open price the average price.
absl::StatusOr<Position> ParsePosition(const rapidjson::Value& v);

// The USDT line of account/balance: balance, and "frozen" as margin in use.
absl::StatusOr<Account> ParseBalance(const rapidjson::Value& data);

// An instrument of market/instruments.
absl::StatusOr<Instrument> ParseInstrument(const rapidjson::Value& v);

}  // namespace xctl::blofin
