// Statement helpers the repositories share (server/store/repositories.h):
// SELECTs run into row structs and converted, one/maybe-one results, the
// affected-row check of UPDATEs, and the filter, keyset-page and limit
// clauses of the order and position lists. Internal to server/store/.
#pragma once

#include <soci/soci.h>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/store/repositories.h"
#include "server/store/sql_errors.h"

namespace xctl::store_internal {

// "IN (:p0, :p1, ...)" placeholders for `n` values.
std::string InList(absl::string_view prefix, size_t n);

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

// The first row of `rows`; NOT_FOUND "<what> not found" when there is none.
template <typename T>
absl::StatusOr<T> One(absl::StatusOr<std::vector<T>> rows, absl::string_view what) {
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return absl::NotFoundError(absl::StrCat(what, " not found"));
  return std::move(rows->front());
}

// The first row of `rows`, nullopt when there is none.
template <typename T>
absl::StatusOr<std::optional<T>> Maybe(absl::StatusOr<std::vector<T>> rows) {
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<T>();
  return std::optional<T>(std::move(rows->front()));
}

// NOT_FOUND naming `what` when the statement touched no row.
absl::Status CheckAffected(soci::statement& st, absl::string_view what);

}  // namespace xctl::store_internal
