// LeaseTable: named leases with expiry in the shared database, the way
// xctld instances in a cluster agree who does what (docs/cluster.md): the
// instance holding "price-leader" polls the exchange; the one holding
// "strategy:<id>" runs that strategy.
//
// Every operation is one atomic SQL statement judged by the DATABASE clock
// (now()), so the instances' own clocks never decide who holds a lease
// (tests open the table on a FakeClock instead, and move it). A
// lease row is never deleted; its epoch grows by one each time a new tenure
// begins (another holder, or the same holder again after the lease expired
// or was released) and is the fencing token: work stamped with an older
// epoch must be refused by whoever receives it.
//
// Works on PostgreSQL (what cluster mode needs) and on SQLite (the same
// semantics on one host, for tests and tools). The table comes from the
// store's migrations (db/*/0002_cluster_leases.sql): open the Store first.
//
// LeaseTable holds one database connection of its own, outside the store's
// pool, so renewals never queue behind slow store work. Thread-safe (calls
// are serialized on that connection).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/common/clock.h"
#include "server/store/store.h"

namespace soci {
class session;
}

namespace xctl::cluster {

struct LeaseSql;  // the statements of each operation (lease.cc)

// What the database says about one lease after an operation.
struct Lease {
  std::string name;
  // True when the caller (the `holder` argument) holds the lease now.
  bool held = false;
  // The holder recorded in the row (the caller when held; the other
  // instance, or the last holder of an expired lease, otherwise).
  std::string holder;
  // The fencing token of the recorded tenure.
  int64_t epoch = 0;
  // When the recorded tenure ends, and the database's "now" when the
  // statement ran (both UTC ms since epoch, database clock). Compare them to
  // each other, never to the local clock.
  int64_t expires_at_ms = 0;
  int64_t db_now_ms = 0;

  // Time left by the database clock (zero when expired).
  absl::Duration remaining() const {
    return absl::Milliseconds(expires_at_ms > db_now_ms ? expires_at_ms - db_now_ms : 0);
  }
};

class LeaseTable {
 public:
  // Connects to `url` (postgresql://... or sqlite:PATH, as StoreOptions.url)
  // and checks the cluster_leases table exists. UNAVAILABLE when the
  // database cannot be reached, FAILED_PRECONDITION without the table (the
  // store's migrations have not run), INVALID_ARGUMENT for a bad URL.
  // Passwords never appear in messages.
  //
  // `clock` null (xctld): "now" is the database's clock in every statement.
  // Set (tests): it is `clock->NowMillis()`, so a test moves a FakeClock
  // instead of waiting for a lease to expire. The SQL is the same otherwise.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<LeaseTable>> Open(
      const std::string& url, const Clock* clock = nullptr);
  ~LeaseTable();
  LeaseTable(const LeaseTable&) = delete;
  LeaseTable& operator=(const LeaseTable&) = delete;

  // Takes `name` for `holder` for `ttl` when it is free (never held, expired
  // or released) or already held by `holder` (then it extends it, same
  // epoch). A new tenure gets epoch + 1 (1 for a new name). When another
  // holder has it, returns OK with held = false and that holder's row.
  [[nodiscard]] absl::StatusOr<Lease> TryAcquire(absl::string_view name,
                                                 absl::string_view holder, absl::Duration ttl);

  // Extends the tenure (`holder`, `epoch`) to now + ttl if it is still
  // unexpired. held = false when it is lost (expired, released, or another
  // tenure began); the caller must then stop acting under that epoch.
  [[nodiscard]] absl::StatusOr<Lease> Renew(absl::string_view name, absl::string_view holder,
                                            int64_t epoch, absl::Duration ttl);

  // Renews every unexpired lease of `holder` in one statement; returns
  // those renewed (held = true), by name. Leases missing from the result are
  // lost. This is what LeaseKeeper does once per cycle.
  [[nodiscard]] absl::StatusOr<std::vector<Lease>> RenewAll(absl::string_view holder,
                                                            absl::Duration ttl);

  // Ends the tenure (`holder`, `epoch`) now so another instance can take
  // the lease at once. Returns true if it was released, false if that
  // tenure had already ended (idempotent). The epoch stays in the row.
  [[nodiscard]] absl::StatusOr<bool> Release(absl::string_view name, absl::string_view holder,
                                             int64_t epoch);

  // The unexpired leases of `holder`, by name.
  [[nodiscard]] absl::StatusOr<std::vector<Lease>> ListHeld(absl::string_view holder);

  // The row of `name` as it is (held = false: this is not about a caller);
  // nullopt when the name was never leased.
  [[nodiscard]] absl::StatusOr<std::optional<Lease>> Get(absl::string_view name);

  Dialect dialect() const { return dialect_; }

 private:
  LeaseTable(Dialect dialect, std::string redacted_url, std::unique_ptr<soci::session> session,
             const Clock* clock);
  // One statement's SQL: on the database clock, or on clock_'s now.
  std::string Statement(std::string LeaseSql::*which) const;
  // Runs `fn` on the session, reconnecting a broken PostgreSQL connection
  // first and mapping SOCI errors to statuses.
  template <typename F>
  auto Run(absl::string_view what, F&& fn) -> decltype(fn(std::declval<soci::session&>()));

  const Dialect dialect_;
  const std::string redacted_url_;
  const Clock* const clock_;  // null: the database clock
  absl::Mutex mu_;
  std::unique_ptr<soci::session> session_ ABSL_GUARDED_BY(mu_);
};

// "expected 1ms..24h": INVALID_ARGUMENT for a TTL outside that range.
[[nodiscard]] absl::Status ValidateLeaseTtl(absl::Duration ttl);

}  // namespace xctl::cluster
