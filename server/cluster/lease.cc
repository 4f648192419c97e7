#include "server/cluster/lease.h"

#include <soci/soci.h>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <algorithm>
#include <exception>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "server/common/log.h"
#include "server/store/sql_errors.h"
#include "server/store/store.h"

namespace xctl::cluster {

// The SQL of each operation, written once for both dialects with
// placeholders: {NOW} the clock (the database's, or the table's Clock) as
// stored, {NOW_MS} and {EXP_MS} the clock and expires_at as UTC ms,
// {PLUS_TTL} now + :ttl ms as stored.
struct LeaseSql {
  std::string try_acquire;
  std::string renew;
  std::string renew_all;
  std::string release;
  std::string list_held;
  std::string get;
  std::string check_table;
};

namespace {

constexpr size_t kMaxNameBytes = 200;

// `fixed_now_ms` set: "now" is that instant (the LeaseTable's Clock) instead
// of the database clock. It is our own integer, written into the SQL as one.
std::string Expand(absl::string_view tmpl, Dialect d, std::optional<int64_t> fixed_now_ms) {
  if (d == Dialect::kPostgresql) {
    const std::string now =
        fixed_now_ms ? absl::StrCat("(TIMESTAMPTZ 'epoch' + ", *fixed_now_ms,
                                    " * interval '1 millisecond')")
                     : "now()";
    const std::string now_ms = fixed_now_ms
                                   ? absl::StrCat("CAST(", *fixed_now_ms, " AS BIGINT)")
                                   : "CAST(floor(EXTRACT(EPOCH FROM now()) * 1000) AS BIGINT)";
    return absl::StrReplaceAll(
        tmpl, {{"{NOW_MS}", now_ms},
               {"{EXP_MS}", "CAST(floor(EXTRACT(EPOCH FROM expires_at) * 1000) AS BIGINT)"},
               {"{NOW}", now},
               {"{PLUS_TTL}",
                absl::StrCat(now, " + CAST(:ttl AS BIGINT) * interval '1 millisecond'")}});
  }
  // SQLite: expires_at holds UTC ms; julianday('now') is stable within one
  // statement and has millisecond resolution.
  const std::string now = fixed_now_ms
                              ? absl::StrCat(*fixed_now_ms)
                              : "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)";
  return absl::StrReplaceAll(tmpl, {{"{NOW_MS}", now},
                                    {"{EXP_MS}", "expires_at"},
                                    {"{NOW}", now},
                                    {"{PLUS_TTL}", absl::StrCat("(", now, " + :ttl)")}});
}

LeaseSql BuildSql(Dialect d, std::optional<int64_t> fixed_now_ms) {
  LeaseSql s;
  // Free (expired or released), or ours: take it. The epoch stays for our
  // own unexpired tenure and grows for every new one.
  s.try_acquire = Expand(R"(
INSERT INTO cluster_leases AS l (name, holder, expires_at, epoch)
VALUES (:name, :holder, {PLUS_TTL}, 1)
ON CONFLICT (name) DO UPDATE SET
  holder = excluded.holder,
  expires_at = excluded.expires_at,
  epoch = CASE WHEN l.holder = excluded.holder AND l.expires_at > {NOW}
               THEN l.epoch ELSE l.epoch + 1 END
WHERE l.expires_at <= {NOW} OR l.holder = excluded.holder
RETURNING holder, epoch, {EXP_MS}, {NOW_MS})",
                         d, fixed_now_ms);
  s.renew = Expand(R"(
UPDATE cluster_leases SET expires_at = {PLUS_TTL}
WHERE name = :name AND holder = :holder AND epoch = :epoch AND expires_at > {NOW}
RETURNING holder, epoch, {EXP_MS}, {NOW_MS})",
                   d, fixed_now_ms);
  s.renew_all = Expand(R"(
UPDATE cluster_leases SET expires_at = {PLUS_TTL}
WHERE holder = :holder AND expires_at > {NOW}
RETURNING name, holder, epoch, {EXP_MS}, {NOW_MS})",
                       d, fixed_now_ms);
  s.release = Expand(R"(
UPDATE cluster_leases SET expires_at = {NOW}
WHERE name = :name AND holder = :holder AND epoch = :epoch AND expires_at > {NOW})",
                     d, fixed_now_ms);
  s.list_held = Expand(R"(
SELECT name, holder, epoch, {EXP_MS}, {NOW_MS} FROM cluster_leases
WHERE holder = :holder AND expires_at > {NOW} ORDER BY name)",
                       d, fixed_now_ms);
  s.get = Expand(R"(
SELECT name, holder, epoch, {EXP_MS}, {NOW_MS} FROM cluster_leases WHERE name = :name)",
                 d, fixed_now_ms);
  s.check_table = "SELECT COUNT(*) FROM cluster_leases";
  return s;
}

const LeaseSql& SqlFor(Dialect d) {
  static const LeaseSql kSqlite = BuildSql(Dialect::kSqlite, std::nullopt);
  static const LeaseSql kPostgresql = BuildSql(Dialect::kPostgresql, std::nullopt);
  return d == Dialect::kSqlite ? kSqlite : kPostgresql;
}

absl::Status CheckName(absl::string_view what, absl::string_view value) {
  if (value.empty() || value.size() > kMaxNameBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("lease ", what, " must be 1-", kMaxNameBytes, " bytes, got ", value.size()));
  }
  return absl::OkStatus();
}

// A SOCI error (being handled) as a status, classified as the store does
// (UNAVAILABLE when the connection is the problem or SQLite is busy), with a
// hint when the table is missing.
absl::Status CurrentError(absl::string_view what) {
  absl::Status status =
      store_internal::CurrentExceptionToStatus(absl::StrCat("lease ", what));
  const absl::string_view msg = status.message();
  if (absl::StrContains(msg, "no such table") ||
      (absl::StrContains(msg, "cluster_leases") && absl::StrContains(msg, "does not exist"))) {
    return absl::FailedPreconditionError(absl::StrCat(
        "lease ", what, ": the cluster_leases table is missing; open the Store on this "
        "database first so its migrations run (", msg, ")"));
  }
  return status;
}

}  // namespace

absl::Status ValidateLeaseTtl(absl::Duration ttl) {
  if (ttl < absl::Milliseconds(1) || ttl > absl::Hours(24)) {
    return absl::InvalidArgumentError(
        absl::StrCat("lease ttl must be 1ms..24h, got ", absl::FormatDuration(ttl)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<LeaseTable>> LeaseTable::Open(const std::string& url,
                                                             const Clock* clock) {
  const std::string redacted = RedactUrl(url);
  auto target = SociTargetFor(url);
  if (!target.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("leases: ", target.status().message()));
  }
  const Dialect dialect = target->dialect;
  const std::string& connect = target->connect;
  auto session = std::make_unique<soci::session>();
  try {
    if (dialect == Dialect::kSqlite) {
      session->open(soci::sqlite3, connect);
      *session << "PRAGMA busy_timeout=5000";
    } else {
      session->open(soci::postgresql, connect);
    }
  } catch (const soci::soci_error& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot open database ", redacted, " for leases: ",
                     absl::StripAsciiWhitespace(e.get_error_message())));
  }
  auto table = std::unique_ptr<LeaseTable>(
      new LeaseTable(dialect, redacted, std::move(session), clock));
  absl::Status check = table->Run("open", [&](soci::session& sql) -> absl::Status {
    long long count = 0;
    sql << SqlFor(dialect).check_table, soci::into(count);
    return absl::OkStatus();
  });
  if (!check.ok()) return check;
  spdlog::info("event=lease_table_opened database={}", LogQuote(redacted));
  return table;
}

LeaseTable::LeaseTable(Dialect dialect, std::string redacted_url,
                       std::unique_ptr<soci::session> session, const Clock* clock)
    : dialect_(dialect),
      redacted_url_(std::move(redacted_url)),
      clock_(clock),
      session_(std::move(session)) {}

std::string LeaseTable::Statement(std::string LeaseSql::*which) const {
  if (clock_ == nullptr) return SqlFor(dialect_).*which;
  return BuildSql(dialect_, clock_->NowMillis()).*which;
}

LeaseTable::~LeaseTable() = default;

template <typename F>
auto LeaseTable::Run(absl::string_view what, F&& fn)
    -> decltype(fn(std::declval<soci::session&>())) {
  absl::MutexLock lock(&mu_);
  soci::session& sql = *session_;
  try {
    if (dialect_ == Dialect::kPostgresql && !sql.is_connected()) sql.reconnect();
    return fn(sql);
  } catch (...) {
    absl::Status status = CurrentError(what);
    if (dialect_ == Dialect::kPostgresql && status.code() == absl::StatusCode::kUnavailable) {
      try {
        sql.reconnect();  // ready for the next call if the server is back
      } catch (...) {
      }
    }
    return status;
  }
}

absl::StatusOr<Lease> LeaseTable::TryAcquire(absl::string_view name, absl::string_view holder,
                                             absl::Duration ttl) {
  if (absl::Status s = CheckName("name", name); !s.ok()) return s;
  if (absl::Status s = CheckName("holder", holder); !s.ok()) return s;
  if (absl::Status s = ValidateLeaseTtl(ttl); !s.ok()) return s;
  std::string n(name), h(holder);
  long long ttl_ms = absl::ToInt64Milliseconds(ttl);
  absl::StatusOr<Lease> acquired = Run("acquire", [&](soci::session& sql) -> absl::StatusOr<Lease> {
    Lease lease;
    lease.name = n;
    long long epoch = 0, expires = 0, now = 0;
    soci::statement st = (sql.prepare << Statement(&LeaseSql::try_acquire),
                          soci::into(lease.holder), soci::into(epoch), soci::into(expires),
                          soci::into(now),
                          soci::use(n, "name"), soci::use(h, "holder"),
                          soci::use(ttl_ms, "ttl"));
    lease.held = st.execute(true);
    lease.epoch = epoch;
    lease.expires_at_ms = expires;
    lease.db_now_ms = now;
    return lease;
  });
  if (!acquired.ok() || acquired->held) return acquired;
  // Someone else holds it: report their tenure.
  auto current = Get(name);
  if (!current.ok()) return current.status();
  if (!current->has_value()) {
    return absl::InternalError(absl::StrCat("lease ", n, ": not acquired and no row found"));
  }
  return **current;
}

absl::StatusOr<Lease> LeaseTable::Renew(absl::string_view name, absl::string_view holder,
                                        int64_t epoch, absl::Duration ttl) {
  if (absl::Status s = CheckName("name", name); !s.ok()) return s;
  if (absl::Status s = CheckName("holder", holder); !s.ok()) return s;
  if (absl::Status s = ValidateLeaseTtl(ttl); !s.ok()) return s;
  std::string n(name), h(holder);
  long long ttl_ms = absl::ToInt64Milliseconds(ttl);
  long long want_epoch = epoch;
  absl::StatusOr<Lease> renewed = Run("renew", [&](soci::session& sql) -> absl::StatusOr<Lease> {
    Lease lease;
    lease.name = n;
    long long got_epoch = 0, expires = 0, now = 0;
    soci::statement st = (sql.prepare << Statement(&LeaseSql::renew), soci::into(lease.holder),
                          soci::into(got_epoch), soci::into(expires), soci::into(now),
                          soci::use(ttl_ms, "ttl"), soci::use(n, "name"),
                          soci::use(h, "holder"), soci::use(want_epoch, "epoch"));
    lease.held = st.execute(true);
    lease.epoch = got_epoch;
    lease.expires_at_ms = expires;
    lease.db_now_ms = now;
    return lease;
  });
  if (!renewed.ok() || renewed->held) return renewed;
  auto current = Get(name);
  if (!current.ok()) return current.status();
  if (!current->has_value()) {
    Lease none;
    none.name = n;
    return none;
  }
  return **current;
}

absl::StatusOr<std::vector<Lease>> LeaseTable::RenewAll(absl::string_view holder,
                                                       absl::Duration ttl) {
  if (absl::Status s = CheckName("holder", holder); !s.ok()) return s;
  if (absl::Status s = ValidateLeaseTtl(ttl); !s.ok()) return s;
  std::string h(holder);
  long long ttl_ms = absl::ToInt64Milliseconds(ttl);
  auto out = Run("renew_all", [&](soci::session& sql) -> absl::StatusOr<std::vector<Lease>> {
    std::vector<Lease> leases;
    std::string name, got_holder;
    long long epoch = 0, expires = 0, now = 0;
    soci::statement st = (sql.prepare << Statement(&LeaseSql::renew_all), soci::into(name),
                          soci::into(got_holder), soci::into(epoch), soci::into(expires),
                          soci::into(now), soci::use(ttl_ms, "ttl"), soci::use(h, "holder"));
    for (bool row = st.execute(true); row; row = st.fetch()) {
      leases.push_back(Lease{.name = name, .held = true, .holder = got_holder, .epoch = epoch,
                             .expires_at_ms = expires, .db_now_ms = now});
    }
    return leases;
  });
  if (out.ok()) {
    std::sort(out->begin(), out->end(),
              [](const Lease& a, const Lease& b) { return a.name < b.name; });
  }
  return out;
}

absl::StatusOr<bool> LeaseTable::Release(absl::string_view name, absl::string_view holder,
                                         int64_t epoch) {
  if (absl::Status s = CheckName("name", name); !s.ok()) return s;
  if (absl::Status s = CheckName("holder", holder); !s.ok()) return s;
  std::string n(name), h(holder);
  long long want_epoch = epoch;
  return Run("release", [&](soci::session& sql) -> absl::StatusOr<bool> {
    soci::statement st = (sql.prepare << Statement(&LeaseSql::release), soci::use(n, "name"),
                          soci::use(h, "holder"), soci::use(want_epoch, "epoch"));
    st.execute(true);
    return st.get_affected_rows() > 0;
  });
}

absl::StatusOr<std::vector<Lease>> LeaseTable::ListHeld(absl::string_view holder) {
  if (absl::Status s = CheckName("holder", holder); !s.ok()) return s;
  std::string h(holder);
  return Run("list", [&](soci::session& sql) -> absl::StatusOr<std::vector<Lease>> {
    std::vector<Lease> leases;
    std::string name, got_holder;
    long long epoch = 0, expires = 0, now = 0;
    soci::statement st = (sql.prepare << Statement(&LeaseSql::list_held), soci::into(name),
                          soci::into(got_holder), soci::into(epoch), soci::into(expires),
                          soci::into(now), soci::use(h, "holder"));
    for (bool row = st.execute(true); row; row = st.fetch()) {
      leases.push_back(Lease{.name = name, .held = true, .holder = got_holder, .epoch = epoch,
                             .expires_at_ms = expires, .db_now_ms = now});
    }
    return leases;
  });
}

absl::StatusOr<std::optional<Lease>> LeaseTable::Get(absl::string_view name) {
  if (absl::Status s = CheckName("name", name); !s.ok()) return s;
  std::string n(name);
  return Run("get", [&](soci::session& sql) -> absl::StatusOr<std::optional<Lease>> {
    Lease lease;
    long long epoch = 0, expires = 0, now = 0;
    soci::statement st = (sql.prepare << Statement(&LeaseSql::get), soci::into(lease.name),
                          soci::into(lease.holder), soci::into(epoch), soci::into(expires),
                          soci::into(now), soci::use(n, "name"));
    if (!st.execute(true)) return std::optional<Lease>();
    lease.epoch = epoch;
    lease.expires_at_ms = expires;
    lease.db_now_ms = now;
    return std::optional<Lease>(std::move(lease));
  });
}

}  // namespace xctl::cluster
