// PositionRepository: the `positions` table (see repositories.h).
#include "server/store/repositories.h"

#include <soci/soci.h>

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
using store_internal::NullableInt;
using store_internal::NullableText;
using store_internal::One;
using store_internal::ParseStored;
using store_internal::Query;
using store_internal::TriggerColumns;
using store_internal::kTriggerColumns;

constexpr char kPositionColumns[] =
    "id, strategy_id, symbol, side, open_time, close_time, open_price, close_price, "
    "quantity, status, pnl, fees, mode, exchange, tp_trigger_price, tp_order_price, "
    "sl_trigger_price, sl_order_price";

struct PositionRow {
  long long id = 0;
  std::string strategy_id, symbol, side;
  long long open_time = 0, close_time = 0;
  soci::indicator close_time_ind = soci::i_null;
  std::string open_price, close_price;
  soci::indicator close_price_ind = soci::i_null;
  std::string quantity, status, pnl;
  soci::indicator pnl_ind = soci::i_null;
  std::string fees, mode, exchange;
  TriggerColumns triggers;

  void Into(soci::details::prepare_temp_type& p) {
    p, soci::into(id), soci::into(strategy_id), soci::into(symbol), soci::into(side),
        soci::into(open_time), soci::into(close_time, close_time_ind), soci::into(open_price),
        soci::into(close_price, close_price_ind), soci::into(quantity), soci::into(status),
        soci::into(pnl, pnl_ind), soci::into(fees), soci::into(mode), soci::into(exchange);
    triggers.Into(p);
  }

  absl::StatusOr<Position> ToPosition() const {
    Position p;
    p.id = id;
    p.strategy_id = strategy_id;
    p.symbol = symbol;
    XCTL_ASSIGN_OR_RETURN(p.side, ParsePositionSide(side));
    p.open_time_ms = open_time;
    if (close_time_ind == soci::i_ok) p.close_time_ms = close_time;
    XCTL_ASSIGN_OR_RETURN(p.open_price, ParseStored(open_price, "positions.open_price"));
    if (close_price_ind == soci::i_ok) {
      XCTL_ASSIGN_OR_RETURN(Decimal c, ParseStored(close_price, "positions.close_price"));
      p.close_price = c;
    }
    XCTL_ASSIGN_OR_RETURN(p.quantity, ParseStored(quantity, "positions.quantity"));
    XCTL_ASSIGN_OR_RETURN(p.status, ParsePositionStatus(status));
    if (pnl_ind == soci::i_ok) {
      XCTL_ASSIGN_OR_RETURN(Decimal v, ParseStored(pnl, "positions.pnl"));
      p.pnl = v;
    }
    XCTL_ASSIGN_OR_RETURN(p.fees, ParseStored(fees, "positions.fees"));
    XCTL_ASSIGN_OR_RETURN(p.mode, ParseTradingMode(mode));
    p.exchange = exchange;
    XCTL_RETURN_IF_ERROR(triggers.To("positions", &p.take_profit, &p.stop_loss));
    return p;
  }
};

}  // namespace

absl::Status PositionRepository::Insert(Position* pos) {
  return Guard(absl::StrCat("insert position ", pos->strategy_id, " ", pos->symbol), [&]() -> absl::Status {
    std::string side(ToString(pos->side)), status(ToString(pos->status)), mode(ToString(pos->mode));
    std::string open_price = pos->open_price.ToString(), qty = pos->quantity.ToString();
    std::string fees = pos->fees.ToString();
    NullableText close_price(pos->close_price), pnl(pos->pnl);
    NullableInt close_time(pos->close_time_ms);
    long long open_time = pos->open_time_ms, id = 0;
    TriggerColumns t(pos->take_profit, pos->stop_loss);
    session_ << "INSERT INTO positions (strategy_id, symbol, side, open_time, close_time, "
                "open_price, close_price, quantity, status, pnl, fees, mode, exchange, "
             << kTriggerColumns
             << ") VALUES (:s, :sym, :side, :ot, :ct, :op, :cp, :q, :st, :pnl, :fees, :mode, :x, "
                ":tpt, :tpo, :slt, :slo) RETURNING id",
        soci::use(pos->strategy_id), soci::use(pos->symbol), soci::use(side), soci::use(open_time),
        soci::use(close_time.value, close_time.ind), soci::use(open_price),
        soci::use(close_price.value, close_price.ind), soci::use(qty), soci::use(status),
        soci::use(pnl.value, pnl.ind), soci::use(fees), soci::use(mode), soci::use(pos->exchange),
        soci::use(t.value[0], t.ind[0]), soci::use(t.value[1], t.ind[1]),
        soci::use(t.value[2], t.ind[2]), soci::use(t.value[3], t.ind[3]), soci::into(id);
    pos->id = id;
    return absl::OkStatus();
  });
}

absl::Status PositionRepository::Update(const Position& pos) {
  return Guard(absl::StrCat("update position ", pos.id), [&]() -> absl::Status {
    std::string side(ToString(pos.side)), status(ToString(pos.status));
    std::string open_price = pos.open_price.ToString(), qty = pos.quantity.ToString();
    std::string fees = pos.fees.ToString();
    NullableText close_price(pos.close_price), pnl(pos.pnl);
    NullableInt close_time(pos.close_time_ms);
    long long open_time = pos.open_time_ms, id = pos.id;
    TriggerColumns t(pos.take_profit, pos.stop_loss);
    soci::statement st = (session_.prepare <<
        "UPDATE positions SET side = :side, open_time = :ot, close_time = :ct, open_price = :op, "
        "close_price = :cp, quantity = :q, status = :st, pnl = :pnl, fees = :fees, "
        "tp_trigger_price = :tpt, tp_order_price = :tpo, sl_trigger_price = :slt, "
        "sl_order_price = :slo WHERE id = :id",
        soci::use(side), soci::use(open_time), soci::use(close_time.value, close_time.ind),
        soci::use(open_price), soci::use(close_price.value, close_price.ind), soci::use(qty),
        soci::use(status), soci::use(pnl.value, pnl.ind), soci::use(fees),
        soci::use(t.value[0], t.ind[0]), soci::use(t.value[1], t.ind[1]),
        soci::use(t.value[2], t.ind[2]), soci::use(t.value[3], t.ind[3]), soci::use(id));
    st.execute(true);
    return CheckAffected(st, absl::StrCat("position ", pos.id));
  });
}

absl::StatusOr<Position> PositionRepository::Get(int64_t id_value) {
  long long id = id_value;
  return One(Query<PositionRow, Position>(
                 "get position",
                 [&](PositionRow& row) {
                   auto p = (session_.prepare << "SELECT " << kPositionColumns << " FROM positions WHERE id = :id");
                   row.Into(p);
                   p, soci::use(id);
                   return soci::statement(p);
                 },
                 [](const PositionRow& r) { return r.ToPosition(); }),
             absl::StrCat("position ", id));
}

absl::StatusOr<std::optional<Position>> PositionRepository::GetOpen(absl::string_view strategy_view,
                                                                    absl::string_view symbol_view) {
  std::string strategy(strategy_view), symbol(symbol_view);
  return Maybe(Query<PositionRow, Position>(
      "get open position",
      [&](PositionRow& row) {
        auto p = (session_.prepare << "SELECT " << kPositionColumns
                                   << " FROM positions WHERE strategy_id = :s AND symbol = :sym AND status = 'open'");
        row.Into(p);
        p, soci::use(strategy), soci::use(symbol);
        return soci::statement(p);
      },
      [](const PositionRow& r) { return r.ToPosition(); }));
}

absl::StatusOr<std::vector<Position>> PositionRepository::ListOpen(absl::string_view strategy_view) {
  PositionFilter f;
  f.strategy_id = std::string(strategy_view);
  f.status = PositionStatus::kOpen;
  return List(f, Page{.limit = 1000000});
}

absl::StatusOr<std::vector<Position>> PositionRepository::ListOpenAll() {
  PositionFilter f;
  f.status = PositionStatus::kOpen;
  return List(f, Page{.limit = 1000000});
}

absl::StatusOr<std::vector<Position>> PositionRepository::List(const PositionFilter& f, Page page) {
  ListQuery<PositionFilter> q(f, page);
  std::string sql = q.Sql(kPositionColumns, "positions");
  return Query<PositionRow, Position>(
      "list positions",
      [&](PositionRow& row) {
        auto p = (session_.prepare << sql);
        row.Into(p);
        q.Bind(p);
        return soci::statement(p);
      },
      [](const PositionRow& r) { return r.ToPosition(); });
}

}  // namespace xctl
