// BloFin's JSON objects (REST API v1, ../shared/blofin/index.md) read into
// xctl's trading types. Numbers arrive as decimal strings: sizes and prices
// exactly, money values (balances, fees, average prices) rounded half to even
// to 9 places (docs/decimal.md). A missing or malformed field is UNAVAILABLE
// naming the field (BloFin answered something unexpected).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "rapidjson/document.h"
#include "server/model/position_tiers.h"
#include "server/model/types.h"

namespace xctl::blofin {

// An order of order-detail / orders-pending / orders-history
// (index.md "GET Order Detail"): exchange_order_id, client_order_id, symbol,
// side, type (post_only, fok, ioc are priced: limit), price (priced types
// only), quantity, status (live -> open, partially_filled, filled, canceled
// and partially_canceled -> canceled, order_failed -> rejected), filled
// quantity, average price, fee (a charge positive, a rebate negative),
// reduce_only, times. Mode is live; id and strategy_id are left to the caller.
absl::StatusOr<Order> ParseOrder(const rapidjson::Value& v);
// An order object's orderCategory (index.md "GET Order History": normal,
// full_liquidation, partial_liquidation, adl, tp, sl); "normal" when absent.
std::string OrderCategory(const rapidjson::Value& v);

// A fill of fills-history, with the BloFin order id it belongs to.
struct RemoteFill {
  std::string exchange_order_id;
  Fill fill;
};
absl::StatusOr<RemoteFill> ParseFill(const rapidjson::Value& v);

// A position of account/positions (index.md "GET Positions") with the keys
// BloFin holds it under: margin mode and position side. Net: side from the
// sign of "positions"; long/short (hedge mode): the side named, "positions"
// positive. Quantity is the absolute size, open price the average price.
struct RemotePosition {
  Position position;
  std::string margin_mode;    // "cross" or "isolated"
  std::string position_side;  // "net", "long" or "short"
};
absl::StatusOr<RemotePosition> ParsePosition(const rapidjson::Value& v);

// The USDT line of account/balance: balance, and "frozen" as margin in use.
absl::StatusOr<Account> ParseBalance(const rapidjson::Value& data);

// "net_mode" or "long_short_mode" (index.md "GET Position Mode").
absl::StatusOr<std::string> ParsePositionMode(const rapidjson::Value& data);
// "cross" or "isolated" (index.md "GET Margin Mode").
absl::StatusOr<std::string> ParseMarginMode(const rapidjson::Value& data);

// An instrument of market/instruments.
absl::StatusOr<Instrument> ParseInstrument(const rapidjson::Value& v);

// One settled rate of market/funding-rate-history (index.md, "GET Funding
// Rate History": instId, fundingRate = the actual rate, fundingTime).
struct SettledFunding {
  std::string symbol;
  Decimal rate;
  int64_t time_ms = 0;
};
absl::StatusOr<SettledFunding> ParseSettledFunding(const rapidjson::Value& v);

// One tier of market/position-tiers (index.md, "GET Position Tiers"):
// minSize, maxSize, maintenanceMarginRate, maxLeverage.
absl::StatusOr<MarginTier> ParsePositionTier(const rapidjson::Value& v);

}  // namespace xctl::blofin
