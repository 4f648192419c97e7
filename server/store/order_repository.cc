// OrderRepository: the `orders` table (see repositories.h).
#include "server/store/repositories.h"

#include <soci/soci.h>

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"
#include "server/store/row_codecs.h"
#include "server/store/row_queries.h"
#include "server/store/sql_errors.h"

namespace xctl {
namespace {

using store_internal::CheckAffected;
using store_internal::Guard;
using store_internal::ListQuery;
using store_internal::Maybe;
using store_internal::NullableText;
using store_internal::One;
using store_internal::ParseStored;
using store_internal::Query;
using store_internal::TriggerColumns;
using store_internal::kTriggerColumns;

constexpr char kOrderColumns[] =
    "id, strategy_id, client_order_id, exchange_order_id, symbol, side, type, price, "
    "quantity, status, filled_quantity, average_price, fee, reduce_only, mode, "
    "reject_reason, create_time, update_time, tp_trigger_price, tp_order_price, "
    "sl_trigger_price, sl_order_price";

struct OrderRow {
  long long id = 0;
  std::string strategy_id, client_order_id, exchange_order_id, symbol, side, type;
  std::string price;
  soci::indicator price_ind = soci::i_null;
  std::string quantity, status, filled_quantity, average_price, fee;
  int reduce_only = 0;
  std::string mode, reject_reason;
  long long create_time = 0, update_time = 0;
  TriggerColumns triggers;

  void Into(soci::details::prepare_temp_type& p) {
    p, soci::into(id), soci::into(strategy_id), soci::into(client_order_id),
        soci::into(exchange_order_id), soci::into(symbol), soci::into(side), soci::into(type),
        soci::into(price, price_ind), soci::into(quantity), soci::into(status),
        soci::into(filled_quantity), soci::into(average_price), soci::into(fee),
        soci::into(reduce_only), soci::into(mode), soci::into(reject_reason),
        soci::into(create_time), soci::into(update_time);
    triggers.Into(p);
  }

  absl::StatusOr<Order> ToOrder() const {
    Order o;
    o.id = id;
    o.strategy_id = strategy_id;
    o.client_order_id = client_order_id;
    o.exchange_order_id = exchange_order_id;
    o.symbol = symbol;
    XCTL_ASSIGN_OR_RETURN(o.side, ParseSide(side));
    XCTL_ASSIGN_OR_RETURN(o.type, ParseOrderType(type));
    if (price_ind == soci::i_ok) {
      XCTL_ASSIGN_OR_RETURN(Decimal p, ParseStored(price, "orders.price"));
      o.price = p;
    }
    XCTL_ASSIGN_OR_RETURN(o.quantity, ParseStored(quantity, "orders.quantity"));
    XCTL_ASSIGN_OR_RETURN(o.status, ParseOrderStatus(status));
    XCTL_ASSIGN_OR_RETURN(o.filled_quantity, ParseStored(filled_quantity, "orders.filled_quantity"));
    XCTL_ASSIGN_OR_RETURN(o.average_price, ParseStored(average_price, "orders.average_price"));
    XCTL_ASSIGN_OR_RETURN(o.fee, ParseStored(fee, "orders.fee"));
    o.reduce_only = reduce_only != 0;
    XCTL_ASSIGN_OR_RETURN(o.mode, ParseTradingMode(mode));
    o.reject_reason = reject_reason;
    o.create_time_ms = create_time;
    o.update_time_ms = update_time;
    XCTL_RETURN_IF_ERROR(triggers.To("orders", &o.take_profit, &o.stop_loss));
    return o;
  }
};

}  // namespace

absl::Status OrderRepository::Insert(Order* o) {
  return Guard(absl::StrCat("insert order ", o->client_order_id), [&]() -> absl::Status {
    NullableText price(o->price);
    std::string side(ToString(o->side)), type(ToString(o->type)), status(ToString(o->status));
    std::string mode(ToString(o->mode));
    std::string qty = o->quantity.ToString(), filled = o->filled_quantity.ToString();
    std::string avg = o->average_price.ToString(), fee = o->fee.ToString();
    int reduce = o->reduce_only ? 1 : 0;
    long long created = o->create_time_ms, updated = o->update_time_ms, id = 0;
    TriggerColumns t(o->take_profit, o->stop_loss);
    session_ << "INSERT INTO orders (strategy_id, client_order_id, exchange_order_id, symbol, "
                "side, type, price, quantity, status, filled_quantity, average_price, fee, "
                "reduce_only, mode, reject_reason, create_time, update_time, "
             << kTriggerColumns
             << ") VALUES (:s, :c, :e, :sym, :side, :type, :price, :q, :status, :f, :avg, :fee, "
                ":r, :mode, :rr, :ct, :ut, :tpt, :tpo, :slt, :slo) RETURNING id",
        soci::use(o->strategy_id), soci::use(o->client_order_id), soci::use(o->exchange_order_id),
        soci::use(o->symbol), soci::use(side), soci::use(type), soci::use(price.value, price.ind),
        soci::use(qty), soci::use(status), soci::use(filled), soci::use(avg), soci::use(fee),
        soci::use(reduce), soci::use(mode), soci::use(o->reject_reason), soci::use(created),
        soci::use(updated), soci::use(t.value[0], t.ind[0]), soci::use(t.value[1], t.ind[1]),
        soci::use(t.value[2], t.ind[2]), soci::use(t.value[3], t.ind[3]), soci::into(id);
    o->id = id;
    return absl::OkStatus();
  });
}

absl::Status OrderRepository::Update(const Order& o) {
  return Guard(absl::StrCat("update order ", o.id), [&]() -> absl::Status {
    NullableText price(o.price);
    std::string status(ToString(o.status));
    std::string qty = o.quantity.ToString(), filled = o.filled_quantity.ToString();
    std::string avg = o.average_price.ToString(), fee = o.fee.ToString();
    long long updated = o.update_time_ms, id = o.id;
    std::string exchange_id = o.exchange_order_id, reason = o.reject_reason;
    soci::statement st = (session_.prepare <<
        "UPDATE orders SET exchange_order_id = :e, price = :price, quantity = :q, status = :st, "
        "filled_quantity = :f, average_price = :avg, fee = :fee, reject_reason = :rr, "
        "update_time = :ut WHERE id = :id",
        soci::use(exchange_id), soci::use(price.value, price.ind), soci::use(qty),
        soci::use(status), soci::use(filled), soci::use(avg), soci::use(fee), soci::use(reason),
        soci::use(updated), soci::use(id));
    st.execute(true);
    return CheckAffected(st, absl::StrCat("order ", o.id));
  });
}

absl::Status OrderRepository::DeleteUnplaced(int64_t id_value) {
  return Guard(absl::StrCat("delete unplaced order ", id_value), [&]() -> absl::Status {
    long long id = id_value;
    soci::statement st = (session_.prepare <<
        "DELETE FROM orders WHERE id = :id AND exchange_order_id = ''", soci::use(id));
    st.execute(true);
    return CheckAffected(st, absl::StrCat("unplaced order ", id_value));
  });
}

absl::StatusOr<Order> OrderRepository::Get(int64_t id_value) {
  long long id = id_value;
  return One(Query<OrderRow, Order>(
                 "get order",
                 [&](OrderRow& row) {
                   auto p = (session_.prepare << "SELECT " << kOrderColumns << " FROM orders WHERE id = :id");
                   row.Into(p);
                   p, soci::use(id);
                   return soci::statement(p);
                 },
                 [](const OrderRow& r) { return r.ToOrder(); }),
             absl::StrCat("order ", id));
}

absl::StatusOr<std::optional<Order>> OrderRepository::GetByClientOrderId(
    absl::string_view strategy_view, absl::string_view coid_view) {
  std::string strategy(strategy_view), coid(coid_view);
  return Maybe(Query<OrderRow, Order>(
      "get order by client order id",
      [&](OrderRow& row) {
        auto p = (session_.prepare << "SELECT " << kOrderColumns
                                   << " FROM orders WHERE strategy_id = :s AND client_order_id = :c");
        row.Into(p);
        p, soci::use(strategy), soci::use(coid);
        return soci::statement(p);
      },
      [](const OrderRow& r) { return r.ToOrder(); }));
}

absl::StatusOr<std::vector<Order>> OrderRepository::ListResting(absl::string_view strategy_view) {
  std::string strategy(strategy_view);
  return Query<OrderRow, Order>(
      "list resting orders",
      [&](OrderRow& row) {
        auto p = (session_.prepare << "SELECT " << kOrderColumns
                                   << " FROM orders WHERE strategy_id = :s AND status IN "
                                      "('open', 'partially_filled') ORDER BY id");
        row.Into(p);
        p, soci::use(strategy);
        return soci::statement(p);
      },
      [](const OrderRow& r) { return r.ToOrder(); });
}

absl::StatusOr<std::vector<Order>> OrderRepository::ListRestingBySymbol(absl::string_view symbol_view) {
  std::string symbol(symbol_view);
  return Query<OrderRow, Order>(
      "list resting orders by symbol",
      [&](OrderRow& row) {
        auto p = (session_.prepare << "SELECT " << kOrderColumns
                                   << " FROM orders WHERE symbol = :s AND status IN "
                                      "('open', 'partially_filled') ORDER BY id");
        row.Into(p);
        p, soci::use(symbol);
        return soci::statement(p);
      },
      [](const OrderRow& r) { return r.ToOrder(); });
}

absl::StatusOr<std::vector<Order>> OrderRepository::List(const OrderFilter& f, Page page) {
  page.limit = std::min(page.limit, 1000);
  ListQuery<OrderFilter> q(f, page);
  std::string sql = q.Sql(kOrderColumns, "orders");
  return Query<OrderRow, Order>(
      "list orders",
      [&](OrderRow& row) {
        auto p = (session_.prepare << sql);
        row.Into(p);
        q.Bind(p);
        return soci::statement(p);
      },
      [](const OrderRow& r) { return r.ToOrder(); });
}

absl::StatusOr<int64_t> OrderRepository::CountWithClientPrefix(absl::string_view strategy_view,
                                                               absl::string_view prefix) {
  return Guard("count orders", [&]() -> absl::StatusOr<int64_t> {
    std::string strategy(strategy_view);
    // The prefix is ours (no LIKE wildcards in it): compared with substr so
    // neither backend's LIKE escaping matters.
    std::string p(prefix);
    int length = static_cast<int>(p.size());
    long long n = 0;
    session_ << "SELECT COUNT(*) FROM orders WHERE strategy_id = :s AND "
                "substr(client_order_id, 1, :n) = :p",
        soci::use(strategy), soci::use(length), soci::use(p), soci::into(n);
    return static_cast<int64_t>(n);
  });
}

}  // namespace xctl
