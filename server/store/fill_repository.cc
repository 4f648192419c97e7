// FillRepository: the `fills` table (see repositories.h).
#include "server/store/repositories.h"

#include <soci/soci.h>

#include "absl/status/status.h"
#include "server/common/status_macros.h"
#include "server/store/row_codecs.h"
#include "server/store/row_queries.h"
#include "server/store/sql_errors.h"

namespace xctl {
namespace {

using store_internal::Guard;
using store_internal::ParseStored;
using store_internal::Query;

constexpr char kFillColumns[] =
    "id, order_id, strategy_id, symbol, side, price, quantity, fee, maker, mode, "
    "exchange_fill_id, time";

struct FillRow {
  long long id = 0, order_id = 0;
  std::string strategy_id, symbol, side, price, quantity, fee;
  int maker = 0;
  std::string mode, exchange_fill_id;
  long long time = 0;

  void Into(soci::details::prepare_temp_type& p) {
    p, soci::into(id), soci::into(order_id), soci::into(strategy_id), soci::into(symbol),
        soci::into(side), soci::into(price), soci::into(quantity), soci::into(fee),
        soci::into(maker), soci::into(mode), soci::into(exchange_fill_id), soci::into(time);
  }

  absl::StatusOr<Fill> ToFill() const {
    Fill f;
    f.id = id;
    f.order_id = order_id;
    f.strategy_id = strategy_id;
    f.symbol = symbol;
    XCTL_ASSIGN_OR_RETURN(f.side, ParseSide(side));
    XCTL_ASSIGN_OR_RETURN(f.price, ParseStored(price, "fills.price"));
    XCTL_ASSIGN_OR_RETURN(f.quantity, ParseStored(quantity, "fills.quantity"));
    XCTL_ASSIGN_OR_RETURN(f.fee, ParseStored(fee, "fills.fee"));
    f.maker = maker != 0;
    XCTL_ASSIGN_OR_RETURN(f.mode, ParseTradingMode(mode));
    f.exchange_fill_id = exchange_fill_id;
    f.time_ms = time;
    return f;
  }
};

}  // namespace

absl::Status FillRepository::Insert(Fill* f) {
  return Guard("insert fill", [&]() -> absl::Status {
    std::string side(ToString(f->side)), mode(ToString(f->mode));
    std::string price = f->price.ToString(), qty = f->quantity.ToString(), fee = f->fee.ToString();
    int maker = f->maker ? 1 : 0;
    long long order_id = f->order_id, time = f->time_ms, id = 0;
    session_ << "INSERT INTO fills (order_id, strategy_id, symbol, side, price, quantity, fee, "
                "maker, mode, exchange_fill_id, time) VALUES (:o, :s, :sym, :side, :p, :q, :fee, "
                ":m, :mode, :x, :t) RETURNING id",
        soci::use(order_id), soci::use(f->strategy_id), soci::use(f->symbol), soci::use(side),
        soci::use(price), soci::use(qty), soci::use(fee), soci::use(maker), soci::use(mode),
        soci::use(f->exchange_fill_id), soci::use(time), soci::into(id);
    f->id = id;
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<Fill>> FillRepository::ListByOrder(int64_t order_value) {
  long long order_id = order_value;
  return Query<FillRow, Fill>(
      "list fills",
      [&](FillRow& row) {
        auto p = (session_.prepare << "SELECT " << kFillColumns << " FROM fills WHERE order_id = :o ORDER BY id");
        row.Into(p);
        p, soci::use(order_id);
        return soci::statement(p);
      },
      [](const FillRow& r) { return r.ToFill(); });
}

absl::StatusOr<std::vector<Fill>> FillRepository::ListByStrategy(absl::string_view strategy_view) {
  std::string strategy(strategy_view);
  return Query<FillRow, Fill>(
      "list fills",
      [&](FillRow& row) {
        auto p = (session_.prepare << "SELECT " << kFillColumns
                                   << " FROM fills WHERE strategy_id = :s ORDER BY time, id");
        row.Into(p);
        p, soci::use(strategy);
        return soci::statement(p);
      },
      [](const FillRow& r) { return r.ToFill(); });
}

}  // namespace xctl
