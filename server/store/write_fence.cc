#include "server/store/write_fence.h"

#include <soci/soci.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "server/common/error_reason.h"
#include "server/common/log.h"
#include "server/store/fence_check.h"

namespace xctl {
namespace {

// The lease row with its expiry and the database's "now" as UTC ms, locked
// FOR SHARE until the transaction ends (write_fence.h: why that is
// race-free). clock_timestamp(), not now(): now() is when the transaction
// began, and the check should judge the moment it runs.
constexpr char kPostgresqlCheck[] = R"(
SELECT holder, epoch, CAST(floor(EXTRACT(EPOCH FROM expires_at) * 1000) AS BIGINT),
       CAST(floor(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT)
FROM cluster_leases WHERE name = :name FOR SHARE)";
// The same, arming the server's idle-in-transaction timeout for the rest of
// this transaction (set_config(..., true) is SET LOCAL) in the same round trip.
constexpr char kPostgresqlCheckWithIdle[] = R"(
SELECT holder, epoch, CAST(floor(EXTRACT(EPOCH FROM expires_at) * 1000) AS BIGINT),
       CAST(floor(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT),
       set_config('idle_in_transaction_session_timeout', :idle, true)
FROM cluster_leases WHERE name = :name FOR SHARE)";
// SQLite: expires_at holds UTC ms (db/sqlite/0002_cluster_leases.sql); the
// transaction holds the write lock already (BEGIN IMMEDIATE).
constexpr char kSqliteCheck[] = R"(
SELECT holder, epoch, expires_at, CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)
FROM cluster_leases WHERE name = :name)";

}  // namespace

std::string WriteFence::Describe() const {
  return absl::StrCat(lease, " (holder ", holder, ", epoch ", epoch, ")");
}

absl::Status LeaseLostError(const WriteFence& fence, absl::string_view why) {
  return WithReason(
      absl::AbortedError(absl::StrCat(
          "write refused: this instance's tenure of lease ", fence.Describe(), " is over (", why,
          "); nothing was written. The strategy runs on the lease's current holder: retry "
          "there, with the same client order id")),
      reason::kLeaseLost);
}

namespace store_internal {

absl::Status CheckFence(soci::session& sql, Dialect dialect, const WriteFence& fence) {
  std::string name = fence.lease;
  std::string holder, idle_set;
  long long epoch = 0, expires_ms = 0, db_now_ms = 0;
  const long long idle_ms = absl::ToInt64Milliseconds(fence.idle_timeout);
  std::string idle = absl::StrCat(idle_ms);
  bool found = false;
  if (dialect == Dialect::kSqlite) {
    soci::statement st = (sql.prepare << kSqliteCheck, soci::into(holder), soci::into(epoch),
                          soci::into(expires_ms), soci::into(db_now_ms), soci::use(name, "name"));
    found = st.execute(true);
  } else if (idle_ms > 0) {
    soci::statement st = (sql.prepare << kPostgresqlCheckWithIdle, soci::into(holder),
                          soci::into(epoch), soci::into(expires_ms), soci::into(db_now_ms),
                          soci::into(idle_set), soci::use(idle, "idle"), soci::use(name, "name"));
    found = st.execute(true);
  } else {
    soci::statement st = (sql.prepare << kPostgresqlCheck, soci::into(holder), soci::into(epoch),
                          soci::into(expires_ms), soci::into(db_now_ms), soci::use(name, "name"));
    found = st.execute(true);
  }
  if (!found) return LeaseLostError(fence, "the lease was never taken");
  if (holder != fence.holder || epoch != fence.epoch) {
    return LeaseLostError(fence, absl::StrCat("lease now held by ", holder, ", epoch ", epoch));
  }
  // The LeaseTable's rule for "now" (lease.h): the database clock, or the
  // test's clock when the fence has one.
  const int64_t now_ms = fence.clock != nullptr ? fence.clock->NowMillis() : db_now_ms;
  if (expires_ms <= now_ms) {
    return LeaseLostError(fence,
                          absl::StrCat("the lease expired ", now_ms - expires_ms, " ms ago"));
  }
  return absl::OkStatus();
}

}  // namespace store_internal
}  // namespace xctl
