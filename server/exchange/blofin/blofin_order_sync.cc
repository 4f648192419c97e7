// BlofinExchange: reading one order back from BloFin and recording it.
// FetchOrder reads an order by its id or client order id ("GET Order Detail")
// and checks the answer is that order; Sync brings the store's copy of it up
// to date with its state and the fills not yet recorded ("GET Trade History",
// paged), in one transaction. Placing, cancelling, the resting-order refresh,
// the reconcile and the tp/sl closes all record through these two.
#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/exchange/blofin/blofin_exchange.h"
#include "server/exchange/blofin/json.h"
#include "server/exchange/exchange_store.h"

namespace xctl {
namespace {

// index.md, "GET Order Detail", "GET Trade History".
constexpr absl::string_view kOrderDetailPath = "/api/v1/trade/order-detail";
constexpr absl::string_view kFillsPath = "/api/v1/trade/fills-history";

const rapidjson::Value& Data(const rapidjson::Document& doc) { return doc["data"]; }

}  // namespace

absl::StatusOr<std::optional<Order>> BlofinExchange::FetchOrder(const OrderKey& key,
                                                                bool background) {
  blofin::Query query = {{"instId", key.symbol}};
  if (!key.order_id.empty()) {
    query.push_back({"orderId", key.order_id});
  } else {
    query.push_back({"clientOrderId", key.client_order_id});
  }
  auto doc = rest_.Get(kOrderDetailPath, query, background);
  // errors.md "404 not found": BloFin has no such order.
  if (!doc.ok() && blofin::BlofinCode(doc.status()) == "404") return std::nullopt;
  if (!doc.ok()) return doc.status();
  std::vector<const rapidjson::Value*> items = blofin::Items(Data(*doc));
  if (items.empty()) return std::nullopt;
  XCTL_ASSIGN_OR_RETURN(Order order, blofin::ParseOrder(*items[0]));
  const bool same = order.symbol == key.symbol &&
                    (!key.order_id.empty() ? order.exchange_order_id == key.order_id
                                           : order.client_order_id == key.client_order_id);
  if (!same) {
    return absl::UnavailableError(absl::StrCat(
        "BloFin answered a lookup of order ",
        key.order_id.empty() ? absl::StrCat("with client order id ", key.client_order_id)
                             : key.order_id,
        " in ", key.symbol, " with order ", order.exchange_order_id, " (client order id ",
        LogQuote(order.client_order_id), ", ", order.symbol, "); nothing was recorded"));
  }
  order.strategy_id = config_.strategy_id;
  return order;
}

absl::StatusOr<OrderResult> BlofinExchange::Sync(const Order& remote,
                                                 const Instrument& instrument) {
  std::vector<blofin::RemoteFill> remote_fills;
  if (remote.filled_quantity.is_positive()) {
    XCTL_ASSIGN_OR_RETURN(std::vector<rapidjson::Document> pages,
                          rest_.GetPages(kFillsPath,
                                         {{"instId", remote.symbol},
                                          {"orderId", remote.exchange_order_id}},
                                         "tradeId"));
    for (const rapidjson::Document& page : pages) {
      if (!Data(page).IsArray()) continue;
      for (const auto& v : Data(page).GetArray()) {
        XCTL_ASSIGN_OR_RETURN(blofin::RemoteFill f, blofin::ParseFill(v));
        if (f.exchange_order_id == remote.exchange_order_id && f.fill.symbol == remote.symbol) {
          remote_fills.push_back(f);
        }
      }
    }
    std::sort(remote_fills.begin(), remote_fills.end(), [](const auto& a, const auto& b) {
      return a.fill.time_ms != b.fill.time_ms ? a.fill.time_ms < b.fill.time_ms
                                              : a.fill.exchange_fill_id < b.fill.exchange_fill_id;
    });
  }
  const int64_t now = deps_.clock->NowMillis();
  OrderResult result;
  XCTL_RETURN_IF_ERROR(deps_.store->Transact([&](Tx& tx) -> absl::Status {
    result = OrderResult{};
    XCTL_ASSIGN_OR_RETURN(std::optional<Order> local,
                          tx.orders().GetByClientOrderId(config_.strategy_id,
                                                         remote.client_order_id));
    Order o;
    absl::flat_hash_set<std::string> recorded;
    if (local) {
      o = *local;
      XCTL_ASSIGN_OR_RETURN(std::vector<Fill> fills, tx.fills().ListByOrder(o.id));
      for (const Fill& f : fills) recorded.insert(f.exchange_fill_id);
    } else {
      o = remote;
      o.id = 0;
      o.strategy_id = config_.strategy_id;
      o.filled_quantity = Decimal();
      o.average_price = Decimal();
      o.fee = Decimal();
      if (o.create_time_ms == 0) o.create_time_ms = now;
    }
    o.exchange_order_id = remote.exchange_order_id;
    for (const blofin::RemoteFill& rf : remote_fills) {
      if (recorded.contains(rf.fill.exchange_fill_id)) continue;
      Fill fill = rf.fill;
      if (fill.time_ms == 0) fill.time_ms = now;
      XCTL_ASSIGN_OR_RETURN(RecordedFill r, RecordFill(tx, o, fill, instrument, "blofin"));
      for (Position& closed : r.closed) result.closed_positions.push_back(std::move(closed));
      result.open_positions.clear();
      if (r.open) result.open_positions.push_back(*r.open);
      result.fills.push_back(fill);
    }
    // BloFin's state, unless its fills are not all visible yet: then the order
    // stays resting here and the next sync records the rest.
    o.status = remote.status;
    if (o.filled_quantity < remote.filled_quantity) {
      o.status = o.filled_quantity.is_zero() ? OrderStatus::kOpen : OrderStatus::kPartiallyFilled;
    }
    o.update_time_ms = std::max(o.update_time_ms, remote.update_time_ms);
    if (o.update_time_ms == 0) o.update_time_ms = now;
    if (o.id == 0) {
      XCTL_RETURN_IF_ERROR(tx.orders().Insert(&o));
    } else {
      XCTL_RETURN_IF_ERROR(tx.orders().Update(o));
    }
    result.order = o;
    return absl::OkStatus();
  }, fence()));
  return result;
}

}  // namespace xctl
