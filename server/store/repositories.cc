#include "server/store/repositories.h"

#include <soci/soci.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "server/common/status_macros.h"
#include "server/store/sql_errors.h"

namespace xctl {
namespace {

using store_internal::Guard;

// ---- value conversions -------------------------------------------------

absl::StatusOr<Decimal> ParseStored(const std::string& s, absl::string_view column) {
  auto d = Decimal::Parse(s);
  if (!d.ok()) {
    return absl::DataLossError(absl::StrCat("stored ", column, " is not a decimal: ", s));
  }
  return *d;
}

// A nullable decimal column, bound for writing.
struct NullableText {
  std::string value;
  soci::indicator ind = soci::i_null;
  NullableText() = default;
  explicit NullableText(const std::optional<Decimal>& d) {
    if (d) {
      value = d->ToString();
      ind = soci::i_ok;
    }
  }
  explicit NullableText(const std::optional<std::string>& s) {
    if (s) {
      value = *s;
      ind = soci::i_ok;
    }
  }
};

struct NullableInt {
  long long value = 0;
  soci::indicator ind = soci::i_null;
  NullableInt() = default;
  explicit NullableInt(const std::optional<int64_t>& v) {
    if (v) {
      value = *v;
      ind = soci::i_ok;
    }
  }
};

std::string ParamsToJson(const std::map<std::string, std::string>& params) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  for (const auto& [k, v] : params) {
    w.Key(k.c_str(), static_cast<rapidjson::SizeType>(k.size()));
    w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  }
  w.EndObject();
  return buf.GetString();
}

absl::StatusOr<std::map<std::string, std::string>> ParamsFromJson(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(json.c_str(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return absl::DataLossError("stored strategy params are not a JSON object");
  }
  std::map<std::string, std::string> out;
  for (const auto& m : doc.GetObject()) {
    if (!m.value.IsString()) return absl::DataLossError("stored strategy params hold a non-string");
    out[m.name.GetString()] = m.value.GetString();
  }
  return out;
}

// "IN (:p0, :p1, ...)" placeholders for `n` values.
std::string InList(absl::string_view prefix, size_t n) {
  std::vector<std::string> names;
  for (size_t i = 0; i < n; ++i) names.push_back(absl::StrCat(":", prefix, i));
  return absl::StrCat("(", absl::StrJoin(names, ", "), ")");
}

// WHERE/ORDER/LIMIT clauses and their bindings for the filtered, keyset-paged
// lists (orders and positions share the filter fields).
template <typename Filter>
class ListQuery {
 public:
  ListQuery(const Filter& f, Page page)
      : f_(f),
        status_(f.status ? std::string(ToString(*f.status)) : ""),
        before_(page.before_id),
        limit_(std::clamp(page.limit, 1, 1000000)) {}

  std::string Sql(absl::string_view columns, absl::string_view table) const {
    std::string sql = absl::StrCat("SELECT ", columns, " FROM ", table, " WHERE 1 = 1");
    if (!f_.strategy_id.empty()) absl::StrAppend(&sql, " AND strategy_id = :sid");
    if (!f_.strategy_ids.empty()) {
      absl::StrAppend(&sql, " AND strategy_id IN ", InList("ids", f_.strategy_ids.size()));
    }
    if (!f_.symbol.empty()) absl::StrAppend(&sql, " AND symbol = :sym");
    if (f_.status) absl::StrAppend(&sql, " AND status = :st");
    if (before_ > 0) absl::StrAppend(&sql, " AND id < :before");
    absl::StrAppend(&sql, " ORDER BY id DESC LIMIT ", limit_);
    return sql;
  }

  void Bind(soci::details::prepare_temp_type& p) const {
    if (!f_.strategy_id.empty()) p, soci::use(f_.strategy_id);
    for (const auto& id : f_.strategy_ids) p, soci::use(id);
    if (!f_.symbol.empty()) p, soci::use(f_.symbol);
    if (f_.status) p, soci::use(status_);
    if (before_ > 0) p, soci::use(before_);
  }

 private:
  const Filter& f_;
  const std::string status_;
  const long long before_;
  const int limit_;
};

// ---- TP/SL columns -----------------------------------------------------------

// The four nullable TP/SL columns that orders and positions share.
constexpr char kTriggerColumns[] =
    "tp_trigger_price, tp_order_price, sl_trigger_price, sl_order_price";

struct TriggerColumns {
  std::string value[4];
  soci::indicator ind[4] = {soci::i_null, soci::i_null, soci::i_null, soci::i_null};

  TriggerColumns() = default;
  TriggerColumns(const std::optional<TriggerOrder>& tp, const std::optional<TriggerOrder>& sl) {
    Set(0, tp);
    Set(2, sl);
  }

  void Into(soci::details::prepare_temp_type& p) {
    for (int i = 0; i < 4; ++i) p, soci::into(value[i], ind[i]);
  }

  // Reads back the two legs; an order price without its trigger is data loss.
  absl::Status To(absl::string_view table, std::optional<TriggerOrder>* tp,
                  std::optional<TriggerOrder>* sl) const {
    XCTL_ASSIGN_OR_RETURN(*tp, Get(0, table, "tp"));
    XCTL_ASSIGN_OR_RETURN(*sl, Get(2, table, "sl"));
    return absl::OkStatus();
  }

 private:
  void Set(int i, const std::optional<TriggerOrder>& t) {
    if (!t) return;
    value[i] = t->trigger_price.ToString();
    ind[i] = soci::i_ok;
    if (t->order_price) {
      value[i + 1] = t->order_price->ToString();
      ind[i + 1] = soci::i_ok;
    }
  }

  absl::StatusOr<std::optional<TriggerOrder>> Get(int i, absl::string_view table,
                                                  absl::string_view leg) const {
    if (ind[i] != soci::i_ok) {
      if (ind[i + 1] == soci::i_ok) {
        return absl::DataLossError(absl::StrCat("stored ", table, ".", leg,
                                                "_order_price has no trigger price"));
      }
      return std::optional<TriggerOrder>();
    }
    TriggerOrder t;
    XCTL_ASSIGN_OR_RETURN(t.trigger_price,
                          ParseStored(value[i], absl::StrCat(table, ".", leg, "_trigger_price")));
    if (ind[i + 1] == soci::i_ok) {
      XCTL_ASSIGN_OR_RETURN(Decimal px,
                            ParseStored(value[i + 1], absl::StrCat(table, ".", leg, "_order_price")));
      t.order_price = px;
    }
    return std::optional<TriggerOrder>(t);
  }
};

// ---- orders ----------------------------------------------------------------

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

// Runs a SELECT of rows of type Row built by `prepare` and converts each.
template <typename Row, typename T, typename Prepare, typename Convert>
absl::StatusOr<std::vector<T>> Query(absl::string_view what, Prepare prepare, Convert convert) {
  return Guard(what, [&]() -> absl::StatusOr<std::vector<T>> {
    Row row;
    soci::statement st = prepare(row);
    st.execute();
    std::vector<T> out;
    while (st.fetch()) {
      auto v = convert(row);
      if (!v.ok()) return v.status();
      out.push_back(*std::move(v));
    }
    return out;
  });
}

template <typename T>
absl::StatusOr<T> One(absl::StatusOr<std::vector<T>> rows, absl::string_view what) {
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return absl::NotFoundError(absl::StrCat(what, " not found"));
  return std::move(rows->front());
}

template <typename T>
absl::StatusOr<std::optional<T>> Maybe(absl::StatusOr<std::vector<T>> rows) {
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<T>();
  return std::optional<T>(std::move(rows->front()));
}

// ---- positions ---------------------------------------------------------

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

// ---- fills -------------------------------------------------------------

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

// ---- strategies --------------------------------------------------------

constexpr char kStrategyColumns[] =
    "id, name, type, pairs, params, starting_balance, leverage, taker_fee_rate, "
    "maker_fee_rate, desired_status, credentials_ciphertext, signal_secret_hash, "
    "created_at, updated_at, deleted_at";

struct StrategyRow {
  std::string id, name, type, pairs, params, starting_balance, leverage;
  std::string taker, maker;
  soci::indicator taker_ind = soci::i_null, maker_ind = soci::i_null;
  std::string desired_status, credentials, secret_hash;
  soci::indicator credentials_ind = soci::i_null, secret_ind = soci::i_null;
  long long created_at = 0, updated_at = 0, deleted_at = 0;
  soci::indicator deleted_ind = soci::i_null;

  void Into(soci::details::prepare_temp_type& p) {
    p, soci::into(id), soci::into(name), soci::into(type), soci::into(pairs),
        soci::into(params), soci::into(starting_balance), soci::into(leverage),
        soci::into(taker, taker_ind), soci::into(maker, maker_ind), soci::into(desired_status),
        soci::into(credentials, credentials_ind), soci::into(secret_hash, secret_ind),
        soci::into(created_at), soci::into(updated_at), soci::into(deleted_at, deleted_ind);
  }

  absl::StatusOr<StrategyRecord> ToRecord() const {
    StrategyRecord s;
    s.id = id;
    s.name = name;
    s.type = type;
    s.pairs = absl::StrSplit(pairs, ',', absl::SkipEmpty());
    XCTL_ASSIGN_OR_RETURN(s.params, ParamsFromJson(params));
    XCTL_ASSIGN_OR_RETURN(s.starting_balance, ParseStored(starting_balance, "strategies.starting_balance"));
    XCTL_ASSIGN_OR_RETURN(s.leverage, ParseStored(leverage, "strategies.leverage"));
    if (taker_ind == soci::i_ok) {
      XCTL_ASSIGN_OR_RETURN(Decimal t, ParseStored(taker, "strategies.taker_fee_rate"));
      s.taker_fee_rate = t;
    }
    if (maker_ind == soci::i_ok) {
      XCTL_ASSIGN_OR_RETURN(Decimal m, ParseStored(maker, "strategies.maker_fee_rate"));
      s.maker_fee_rate = m;
    }
    s.running = desired_status == "running";
    if (credentials_ind == soci::i_ok) s.credentials_ciphertext = credentials;
    if (secret_ind == soci::i_ok) s.signal_secret_hash = secret_hash;
    s.created_at_ms = created_at;
    s.updated_at_ms = updated_at;
    if (deleted_ind == soci::i_ok) s.deleted_at_ms = deleted_at;
    return s;
  }
};

// ---- accounts ----------------------------------------------------------

struct AccountRow {
  std::string strategy_id, starting_balance, balance, margin_used, leverage;
  long long update_time = 0;
  void Into(soci::details::prepare_temp_type& p) {
    p, soci::into(strategy_id), soci::into(starting_balance), soci::into(balance),
        soci::into(margin_used), soci::into(leverage), soci::into(update_time);
  }
  absl::StatusOr<Account> ToAccount() const {
    Account a;
    a.strategy_id = strategy_id;
    XCTL_ASSIGN_OR_RETURN(a.starting_balance, ParseStored(starting_balance, "accounts.starting_balance"));
    XCTL_ASSIGN_OR_RETURN(a.balance, ParseStored(balance, "accounts.balance"));
    XCTL_ASSIGN_OR_RETURN(a.margin_used, ParseStored(margin_used, "accounts.margin_used"));
    XCTL_ASSIGN_OR_RETURN(a.leverage, ParseStored(leverage, "accounts.leverage"));
    a.update_time_ms = update_time;
    return a;
  }
};

absl::Status CheckAffected(soci::statement& st, absl::string_view what) {
  if (st.get_affected_rows() == 0) return absl::NotFoundError(absl::StrCat(what, " not found"));
  return absl::OkStatus();
}

}  // namespace

// ===== StrategyRepository =================================================

absl::Status StrategyRepository::Insert(const StrategyRecord& s) {
  return Guard(absl::StrCat("insert strategy ", s.id), [&]() -> absl::Status {
    std::string pairs = absl::StrJoin(s.pairs, ","), params = ParamsToJson(s.params);
    std::string balance = s.starting_balance.ToString(), leverage = s.leverage.ToString();
    NullableText taker(s.taker_fee_rate), maker(s.maker_fee_rate);
    NullableText creds(s.credentials_ciphertext), secret(s.signal_secret_hash);
    std::string status = s.running ? "running" : "stopped";
    long long created = s.created_at_ms, updated = s.updated_at_ms;
    NullableInt deleted(s.deleted_at_ms);
    std::string id = s.id, name = s.name, type = s.type;
    session_ << "INSERT INTO strategies (" << kStrategyColumns
             << ") VALUES (:id, :name, :type, :pairs, :params, :bal, :lev, :taker, :maker, "
                ":status, :creds, :secret, :created, :updated, :deleted)",
        soci::use(id), soci::use(name), soci::use(type), soci::use(pairs), soci::use(params),
        soci::use(balance), soci::use(leverage), soci::use(taker.value, taker.ind),
        soci::use(maker.value, maker.ind), soci::use(status), soci::use(creds.value, creds.ind),
        soci::use(secret.value, secret.ind), soci::use(created), soci::use(updated),
        soci::use(deleted.value, deleted.ind);
    return absl::OkStatus();
  });
}

absl::Status StrategyRepository::Update(const StrategyRecord& s) {
  return Guard(absl::StrCat("update strategy ", s.id), [&]() -> absl::Status {
    std::string pairs = absl::StrJoin(s.pairs, ","), params = ParamsToJson(s.params);
    std::string balance = s.starting_balance.ToString(), leverage = s.leverage.ToString();
    NullableText taker(s.taker_fee_rate), maker(s.maker_fee_rate);
    NullableText creds(s.credentials_ciphertext), secret(s.signal_secret_hash);
    std::string status = s.running ? "running" : "stopped";
    long long updated = s.updated_at_ms;
    NullableInt deleted(s.deleted_at_ms);
    std::string id = s.id, name = s.name, type = s.type;
    soci::statement st = (session_.prepare <<
        "UPDATE strategies SET name = :name, type = :type, pairs = :pairs, params = :params, "
        "starting_balance = :bal, leverage = :lev, taker_fee_rate = :taker, "
        "maker_fee_rate = :maker, desired_status = :status, credentials_ciphertext = :creds, "
        "signal_secret_hash = :secret, updated_at = :updated, deleted_at = :deleted "
        "WHERE id = :id",
        soci::use(name), soci::use(type), soci::use(pairs), soci::use(params),
        soci::use(balance), soci::use(leverage), soci::use(taker.value, taker.ind),
        soci::use(maker.value, maker.ind), soci::use(status), soci::use(creds.value, creds.ind),
        soci::use(secret.value, secret.ind), soci::use(updated),
        soci::use(deleted.value, deleted.ind), soci::use(id));
    st.execute(true);
    return CheckAffected(st, absl::StrCat("strategy ", s.id));
  });
}

absl::StatusOr<StrategyRecord> StrategyRepository::Get(absl::string_view id_view) {
  std::string id(id_view);
  return One(Query<StrategyRow, StrategyRecord>(
                 "get strategy",
                 [&](StrategyRow& row) {
                   auto p = (session_.prepare << "SELECT " << kStrategyColumns
                                              << " FROM strategies WHERE id = :id AND deleted_at IS NULL");
                   row.Into(p);
                   p, soci::use(id);
                   return soci::statement(p);
                 },
                 [](const StrategyRow& r) { return r.ToRecord(); }),
             absl::StrCat("strategy \"", id, "\""));
}

absl::StatusOr<std::vector<StrategyRecord>> StrategyRepository::List() {
  return Query<StrategyRow, StrategyRecord>(
      "list strategies",
      [&](StrategyRow& row) {
        auto p = (session_.prepare << "SELECT " << kStrategyColumns
                                   << " FROM strategies WHERE deleted_at IS NULL ORDER BY id");
        row.Into(p);
        return soci::statement(p);
      },
      [](const StrategyRow& r) { return r.ToRecord(); });
}

absl::Status StrategyRepository::SoftDelete(absl::string_view id_view, int64_t now_ms) {
  return Guard("delete strategy", [&]() -> absl::Status {
    std::string id(id_view);
    long long now = now_ms;
    soci::statement st = (session_.prepare <<
        "UPDATE strategies SET deleted_at = :now, updated_at = :now2 WHERE id = :id AND deleted_at IS NULL",
        soci::use(now), soci::use(now), soci::use(id));
    st.execute(true);
    return CheckAffected(st, absl::StrCat("strategy \"", id, "\""));
  });
}

// ===== OrderRepository ====================================================

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

// ===== FillRepository =====================================================

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

// ===== PositionRepository =================================================

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

// ===== AccountRepository ==================================================

absl::Status AccountRepository::Upsert(const Account& a) {
  return Guard(absl::StrCat("save account ", a.strategy_id), [&]() -> absl::Status {
    std::string start = a.starting_balance.ToString(), balance = a.balance.ToString();
    std::string margin = a.margin_used.ToString(), leverage = a.leverage.ToString();
    long long t = a.update_time_ms;
    session_ << "INSERT INTO accounts (strategy_id, starting_balance, balance, margin_used, "
                "leverage, update_time) VALUES (:s, :sb, :b, :m, :l, :t) ON CONFLICT (strategy_id) "
                "DO UPDATE SET starting_balance = excluded.starting_balance, balance = "
                "excluded.balance, margin_used = excluded.margin_used, leverage = "
                "excluded.leverage, update_time = excluded.update_time",
        soci::use(a.strategy_id), soci::use(start), soci::use(balance), soci::use(margin),
        soci::use(leverage), soci::use(t);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::optional<Account>> AccountRepository::Get(absl::string_view strategy_view) {
  std::string strategy(strategy_view);
  return Maybe(Query<AccountRow, Account>(
      "get account",
      [&](AccountRow& row) {
        auto p = (session_.prepare << "SELECT strategy_id, starting_balance, balance, margin_used, "
                                      "leverage, update_time FROM accounts WHERE strategy_id = :s");
        row.Into(p);
        p, soci::use(strategy);
        return soci::statement(p);
      },
      [](const AccountRow& r) { return r.ToAccount(); }));
}

}  // namespace xctl
