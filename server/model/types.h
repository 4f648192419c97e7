// The trading types shared by every exchange (paper and BloFin), the store,
// exchange control and the API layer: orders, fills, positions, accounts and
// instruments. Plain structs; timestamps are UTC ms since the epoch; numbers
// are Decimal (see server/common/decimal.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "server/common/decimal.h"

namespace xctl {

enum class Side { kBuy, kSell };
enum class PositionSide { kLong, kShort };
// kPostOnly, kIoc and kFok are priced orders with BloFin's time-in-force
// rules (index.md, "Place Order", orderType): post-only never takes, IOC fills
// what crosses at once and cancels the rest, FOK fills all at once or nothing.
enum class OrderType { kMarket, kLimit, kPostOnly, kIoc, kFok };
enum class OrderStatus { kOpen, kPartiallyFilled, kFilled, kCanceled, kRejected };
enum class PositionStatus { kOpen, kClosed };
enum class TradingMode { kPaper, kLive };

// True for every type but market: the order has a limit price.
inline bool IsPriced(OrderType t) { return t != OrderType::kMarket; }

// Lowercase names used in the database and logs ("buy", "long", "market",
// "partially_filled", "open", "paper"), and their parsers (INVALID_ARGUMENT
// for anything else).
absl::string_view ToString(Side v);
absl::string_view ToString(PositionSide v);
absl::string_view ToString(OrderType v);
absl::string_view ToString(OrderStatus v);
absl::string_view ToString(PositionStatus v);
absl::string_view ToString(TradingMode v);
absl::StatusOr<Side> ParseSide(absl::string_view s);
absl::StatusOr<PositionSide> ParsePositionSide(absl::string_view s);
absl::StatusOr<OrderType> ParseOrderType(absl::string_view s);
absl::StatusOr<OrderStatus> ParseOrderStatus(absl::string_view s);
absl::StatusOr<PositionStatus> ParsePositionStatus(absl::string_view s);
absl::StatusOr<TradingMode> ParseTradingMode(absl::string_view s);

// +1 for long / buy, -1 for short / sell.
inline int Direction(PositionSide s) { return s == PositionSide::kLong ? 1 : -1; }
inline PositionSide SideOpened(Side s) {
  return s == Side::kBuy ? PositionSide::kLong : PositionSide::kShort;
}
inline bool IsTerminal(OrderStatus s) {
  return s == OrderStatus::kFilled || s == OrderStatus::kCanceled ||
         s == OrderStatus::kRejected;
}

// Contract specification (BloFin's instruments endpoint, or config for
// paper-only pairs). Quantities are in contracts; one contract is
// `contract_value` units of the base currency.
struct Instrument {
  std::string symbol;
  Decimal contract_value = Decimal::FromInt(1);
  Decimal lot_size = Decimal::FromUnits(1);
  Decimal min_size = Decimal::FromUnits(1);
  Decimal tick_size = Decimal::FromUnits(1);
  Decimal max_leverage = Decimal::FromInt(100);
  // Largest quantity (contracts) of one market / limit order (BloFin's
  // maxMarketSize / maxLimitSize); unset: no limit of the instrument's own.
  std::optional<Decimal> max_market_size;
  std::optional<Decimal> max_limit_size;
  // False when the exchange has suspended trading (BloFin's state "suspend"):
  // orders are refused with FAILED_PRECONDITION.
  bool live = true;
};

// BloFin's standard USDT-perpetual fee rates, used when a strategy sets none.
inline constexpr Decimal kDefaultTakerFeeRate = Decimal::FromUnits(600'000);  // 0.06%
inline constexpr Decimal kDefaultMakerFeeRate = Decimal::FromUnits(200'000);  // 0.02%

// A take-profit or stop-loss attached to an order (BloFin's tpTriggerPrice /
// tpOrderPrice, slTriggerPrice / slOrderPrice, index.md "Place Order"). When
// the last price reaches `trigger_price`, the position the order opened is
// closed by a reduce-only order: limit at `order_price`, or market when it is
// unset (BloFin's -1 stays inside the BloFin client).
struct TriggerOrder {
  Decimal trigger_price;
  std::optional<Decimal> order_price;
  bool operator==(const TriggerOrder&) const = default;
};

// A request to trade, as validated by exchange control.
struct OrderRequest {
  std::string strategy_id;
  std::string client_order_id;
  std::string symbol;
  Side side = Side::kBuy;
  OrderType type = OrderType::kMarket;
  std::optional<Decimal> price;  // priced (non-market) orders only
  Decimal quantity;              // contracts
  bool reduce_only = false;
  std::optional<TriggerOrder> take_profit;
  std::optional<TriggerOrder> stop_loss;
};

struct Order;
// True when `order` is what `request` asks for (same symbol, side, type,
// quantity, reduce-only, TP/SL and, for priced orders, price): a retry of it.
bool MatchesRequest(const Order& order, const OrderRequest& request);
// "#12: buy 0.1 BTC-USDT limit at 64000 reduce-only tp 66000 sl 62000 at
// 61990", for messages.
std::string DescribeOrder(const Order& order);

struct Order {
  int64_t id = 0;  // store id; 0 until stored
  std::string strategy_id;
  std::string client_order_id;
  std::string exchange_order_id;
  std::string symbol;
  Side side = Side::kBuy;
  OrderType type = OrderType::kMarket;
  std::optional<Decimal> price;
  Decimal quantity;
  OrderStatus status = OrderStatus::kOpen;
  Decimal filled_quantity;
  Decimal average_price;
  Decimal fee;
  bool reduce_only = false;
  // The TP/SL the order carries (see TriggerOrder); on a fill they pass to
  // the position it opens or adds to.
  std::optional<TriggerOrder> take_profit;
  std::optional<TriggerOrder> stop_loss;
  TradingMode mode = TradingMode::kPaper;
  std::string reject_reason;
  int64_t create_time_ms = 0;
  int64_t update_time_ms = 0;
};

struct Fill {
  int64_t id = 0;
  int64_t order_id = 0;
  std::string strategy_id;
  std::string symbol;
  Side side = Side::kBuy;
  Decimal price;
  Decimal quantity;
  Decimal fee;
  bool maker = false;
  TradingMode mode = TradingMode::kPaper;
  // The exchange's trade id (BloFin tradeId; paper: empty).
  std::string exchange_fill_id;
  int64_t time_ms = 0;
};

// One row of the `positions` table. One-way (net) mode: at most one open row
// per strategy and symbol.
struct Position {
  int64_t id = 0;
  std::string strategy_id;
  std::string symbol;
  PositionSide side = PositionSide::kLong;
  int64_t open_time_ms = 0;
  std::optional<int64_t> close_time_ms;
  Decimal open_price;
  std::optional<Decimal> close_price;
  Decimal quantity;  // contracts, always > 0
  PositionStatus status = PositionStatus::kOpen;
  // Realized PnL net of fees, set when closed.
  std::optional<Decimal> pnl;
  // Fees of the fills that opened (pro rata) and closed this row.
  Decimal fees;
  TradingMode mode = TradingMode::kPaper;
  std::string exchange;  // "paper" or "blofin"
  // The TP/SL of the order that opened or last added to it, while open;
  // cleared when one of them fires (the other leg is dropped).
  std::optional<TriggerOrder> take_profit;
  std::optional<TriggerOrder> stop_loss;
};

// A strategy's account (paper: persisted by the paper exchange; live: as
// last read from BloFin).
struct Account {
  std::string strategy_id;
  Decimal starting_balance;
  // Cash: starting balance + realized PnL - fees.
  Decimal balance;
  // Initial margin held by open positions and resting orders.
  Decimal margin_used;
  Decimal leverage = Decimal::FromInt(1);
  int64_t update_time_ms = 0;
};

}  // namespace xctl
