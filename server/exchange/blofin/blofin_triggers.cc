// BlofinExchange: closes that BloFin placed itself when a take-profit or
// stop-loss attached to an order fired (index.md "Place Order":
// tpTriggerPrice ... slOrderPrice; the triggered order carries orderCategory
// "tp" or "sl", "GET Order History", "GET Order Detail"). xctl never sent
// those orders, so neither the refresh of resting orders nor the pending list
// (a market close never rests) would see them: while a stored position
// carries a TP or SL, its symbol's order history since the position opened
// and its pending orders are read, and every tp/sl order the store lacks is
// recorded with its fills through Sync, like any other order.
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/exchange/blofin/blofin_exchange.h"
#include "server/exchange/blofin/json.h"

namespace xctl {
namespace {

// index.md "GET Order History" (instId, begin on createTime), "GET Active Orders" (instId).
constexpr absl::string_view kHistoryPath = "/api/v1/trade/orders-history";
constexpr absl::string_view kPendingPath = "/api/v1/trade/orders-pending";

}  // namespace

absl::StatusOr<std::vector<OrderResult>> BlofinExchange::SyncTriggeredCloses(
    const Position& armed) {
  std::vector<Order> triggered;
  for (absl::string_view path : {kHistoryPath, kPendingPath}) {
    blofin::Query query = {{"instId", armed.symbol}};
    if (path == kHistoryPath) query.push_back({"begin", absl::StrCat(armed.open_time_ms)});
    XCTL_ASSIGN_OR_RETURN(std::vector<rapidjson::Document> pages,
                          rest_.GetPages(path, query, "orderId"));
    for (const rapidjson::Document& page : pages) {
      for (const rapidjson::Value* v : blofin::Items(page["data"])) {
        const std::string category = blofin::OrderCategory(*v);
        if (category != "tp" && category != "sl") continue;
        XCTL_ASSIGN_OR_RETURN(Order o, blofin::ParseOrder(*v));
        // Only this position's: BloFin's instId filter is trusted no further
        // than the answer, and older tp/sl orders are history.
        if (o.symbol != armed.symbol || o.create_time_ms < armed.open_time_ms) continue;
        if (o.client_order_id.empty()) o.client_order_id = "bf" + o.exchange_order_id;
        o.strategy_id = config_.strategy_id;
        triggered.push_back(std::move(o));
      }
    }
  }
  std::vector<OrderResult> out;
  for (const Order& remote : triggered) {
    std::optional<Order> local;
    XCTL_RETURN_IF_ERROR(deps_.store->Read([&](Tx& tx) -> absl::Status {
      XCTL_ASSIGN_OR_RETURN(local, tx.orders().GetByClientOrderId(config_.strategy_id,
                                                                  remote.client_order_id));
      return absl::OkStatus();
    }));
    if (local && IsTerminal(local->status)) continue;  // recorded before
    XCTL_ASSIGN_OR_RETURN(OrderResult synced, Sync(remote, InstrumentOrGeneric(remote.symbol)));
    spdlog::info("event=blofin_tpsl_close_recorded strategy={} order={} exchange_order={} "
                 "fills={}",
                 config_.strategy_id, synced.order.id, remote.exchange_order_id,
                 synced.fills.size());
    out.push_back(std::move(synced));
  }
  return out;
}

std::optional<Position> BlofinExchange::ArmedPosition(absl::string_view symbol) {
  std::optional<Position> open;
  absl::Status read = deps_.store->Read([&](Tx& tx) -> absl::Status {
    XCTL_ASSIGN_OR_RETURN(open, tx.positions().GetOpen(config_.strategy_id, symbol));
    return absl::OkStatus();
  });
  if (!read.ok() || !open || open->exchange != "blofin") return std::nullopt;
  if (!open->take_profit && !open->stop_loss) return std::nullopt;
  return open;
}

}  // namespace xctl
