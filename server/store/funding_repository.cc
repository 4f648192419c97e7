// FundingRepository: the `funding_payments` table (see repositories.h).
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

using store_internal::Guard;
using store_internal::ParseStored;
using store_internal::Query;

constexpr char kFundingColumns[] =
    "id, strategy_id, symbol, position_id, settlement_time, rate, price, side, quantity, "
    "amount, mode, source, record_time";

struct FundingRow {
  long long id = 0, position_id = 0, settlement_time = 0, record_time = 0;
  std::string strategy_id, symbol, rate, price, side, quantity, amount, mode, source;
  void Into(soci::details::prepare_temp_type& p) {
    p, soci::into(id), soci::into(strategy_id), soci::into(symbol), soci::into(position_id),
        soci::into(settlement_time), soci::into(rate), soci::into(price), soci::into(side),
        soci::into(quantity), soci::into(amount), soci::into(mode), soci::into(source),
        soci::into(record_time);
  }
  absl::StatusOr<FundingPayment> ToPayment() const {
    FundingPayment f;
    f.id = id;
    f.strategy_id = strategy_id;
    f.symbol = symbol;
    f.position_id = position_id;
    f.settlement_time_ms = settlement_time;
    XCTL_ASSIGN_OR_RETURN(f.rate, ParseStored(rate, "funding_payments.rate"));
    XCTL_ASSIGN_OR_RETURN(f.price, ParseStored(price, "funding_payments.price"));
    XCTL_ASSIGN_OR_RETURN(f.side, ParsePositionSide(side));
    XCTL_ASSIGN_OR_RETURN(f.quantity, ParseStored(quantity, "funding_payments.quantity"));
    XCTL_ASSIGN_OR_RETURN(f.amount, ParseStored(amount, "funding_payments.amount"));
    XCTL_ASSIGN_OR_RETURN(f.mode, ParseTradingMode(mode));
    f.source = source;
    f.record_time_ms = record_time;
    return f;
  }
};

}  // namespace

absl::StatusOr<bool> FundingRepository::InsertOnce(FundingPayment* f) {
  return Guard(absl::StrCat("record funding of ", f->strategy_id, " ", f->symbol),
               [&]() -> absl::StatusOr<bool> {
    std::string rate = f->rate.ToString(), price = f->price.ToString();
    std::string qty = f->quantity.ToString(), amount = f->amount.ToString();
    std::string side(ToString(f->side)), mode(ToString(f->mode));
    long long position = f->position_id, settlement = f->settlement_time_ms;
    long long record = f->record_time_ms, id = 0;
    // ON CONFLICT DO NOTHING RETURNING id yields no row for a settlement
    // already recorded (SQLite >= 3.35 and PostgreSQL alike).
    soci::statement st =
        (session_.prepare
             << "INSERT INTO funding_payments (strategy_id, symbol, position_id, "
                "settlement_time, rate, price, side, quantity, amount, mode, source, "
                "record_time) VALUES (:s, :sym, :pos, :t, :r, :p, :side, :q, :a, :m, :src, :rt) "
                "ON CONFLICT (strategy_id, symbol, settlement_time) DO NOTHING RETURNING id",
         soci::use(f->strategy_id), soci::use(f->symbol), soci::use(position),
         soci::use(settlement), soci::use(rate), soci::use(price), soci::use(side),
         soci::use(qty), soci::use(amount), soci::use(mode), soci::use(f->source),
         soci::use(record), soci::into(id));
    if (!st.execute(true)) return false;
    f->id = id;
    return true;
  });
}

absl::StatusOr<std::vector<FundingPayment>> FundingRepository::ListByStrategy(
    absl::string_view strategy_view) {
  std::string strategy(strategy_view);
  return Query<FundingRow, FundingPayment>(
      "list funding payments",
      [&](FundingRow& row) {
        auto p = (session_.prepare << "SELECT " << kFundingColumns
                                   << " FROM funding_payments WHERE strategy_id = :s "
                                      "ORDER BY settlement_time, id");
        row.Into(p);
        p, soci::use(strategy);
        return soci::statement(p);
      },
      [](const FundingRow& r) { return r.ToPayment(); });
}

absl::StatusOr<std::optional<int64_t>> FundingRepository::LastSettlement(
    absl::string_view strategy_view, absl::string_view symbol_view) {
  return Guard("last funding settlement", [&]() -> absl::StatusOr<std::optional<int64_t>> {
    std::string strategy(strategy_view), symbol(symbol_view);
    long long last = 0;
    soci::indicator ind = soci::i_null;
    session_ << "SELECT MAX(settlement_time) FROM funding_payments WHERE strategy_id = :s AND "
                "symbol = :sym",
        soci::use(strategy), soci::use(symbol), soci::into(last, ind);
    if (ind != soci::i_ok) return std::optional<int64_t>();
    return std::optional<int64_t>(last);
  });
}

}  // namespace xctl
