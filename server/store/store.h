// Store: xctl's persistence on SOCI, a SQLite file by default or PostgreSQL
// by URL. Opens a connection pool, applies the embedded migrations (db/) at
// start, and gives repositories for strategies, orders, fills, positions,
// accounts and funding payments inside transactions. No SQL exists outside server/store/.
//
// Every SOCI error is caught here and returned as absl::Status:
// UNAVAILABLE when the database cannot be reached, ALREADY_EXISTS for a
// unique-key clash, INTERNAL otherwise. Passwords never appear in messages.
#pragma once

#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "server/common/clock.h"
#include "server/common/telemetry.h"
#include "server/store/repositories.h"
#include "server/store/write_fence.h"

namespace soci {
class connection_pool;
}

namespace xctl {

struct StoreOptions {
  // sqlite:PATH (relative or absolute) or postgresql://user:pass@host:port/db
  std::string url;
  int pool_size = 4;
  // Where the duration of every write transaction is reported (telemetry.h),
  // timed by `clock`; both must outlive the store. Null: none, SystemClock().
  Telemetry* telemetry = nullptr;
  const Clock* clock = nullptr;
};

enum class Dialect { kSqlite, kPostgresql };

// Turns a postgresql:// URL into libpq keyword=value form (SOCI's PostgreSQL
// backend does not take URLs), using libpq's own parser. INVALID_ARGUMENT
// with libpq's reason (password removed) for a malformed URL.
[[nodiscard]] absl::StatusOr<std::string> PostgresConnInfo(const std::string& url);

// What SOCI opens for a database URL: sqlite:PATH (a path without '"') or
// postgresql://user:pass@host:port/db. INVALID_ARGUMENT naming the accepted
// forms (password redacted) otherwise. Shared by the Store and the cluster's
// lease table (server/cluster/lease.h).
struct SociTarget {
  Dialect dialect = Dialect::kSqlite;
  std::string connect;      // SOCI's connect string
  std::string sqlite_path;  // the file, for SQLite
};
[[nodiscard]] absl::StatusOr<SociTarget> SociTargetFor(const std::string& url);

// A unit of work on one pooled session: the repositories all see and write
// the same transaction.
class Tx {
 public:
  StrategyRepository& strategies() { return strategies_; }
  OrderRepository& orders() { return orders_; }
  FillRepository& fills() { return fills_; }
  PositionRepository& positions() { return positions_; }
  AccountRepository& accounts() { return accounts_; }
  FundingRepository& funding() { return funding_; }

 private:
  friend class Store;
  explicit Tx(soci::session& session)
      : strategies_(session), orders_(session), fills_(session),
        positions_(session), accounts_(session), funding_(session) {}
  StrategyRepository strategies_;
  OrderRepository orders_;
  FillRepository fills_;
  PositionRepository positions_;
  AccountRepository accounts_;
  FundingRepository funding_;
};

class Store {
 public:
  // Connects, applies pending migrations (each in a transaction, recorded in
  // schema_migrations), and refuses a database newer than this binary.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Store>> Open(
      const StoreOptions& options);
  ~Store();

  // Runs `fn` in one transaction: committed when it returns OK, rolled back
  // when it returns an error or throws. With `fence` (cluster mode), the
  // fence's check is the transaction's first statement: when its tenure is
  // over `fn` does not run and the status is LEASE_LOST (write_fence.h).
  [[nodiscard]] absl::Status Transact(absl::FunctionRef<absl::Status(Tx&)> fn,
                                      const WriteFence* fence = nullptr);

  // Runs `fn` on a pooled session without a write transaction (reads).
  [[nodiscard]] absl::Status Read(absl::FunctionRef<absl::Status(Tx&)> fn);

  // One round trip ("SELECT 1") on a pooled session: OK when the database
  // answers, UNAVAILABLE (one line, no host details) when it does not. A
  // PostgreSQL session that lost its connection is reconnected on the next
  // call. For health checks (server/api/health_service.h).
  [[nodiscard]] absl::Status Ping();

  Dialect dialect() const { return dialect_; }
  // The highest migration applied.
  int SchemaVersion() const { return schema_version_; }
  // The newest migration this binary knows.
  static int LatestSchemaVersion();

 private:
  Store(Dialect dialect, std::unique_ptr<soci::connection_pool> pool, const StoreOptions& options);
  // A pooled PostgreSQL session whose connection libpq knows is broken is
  // reconnected before use (throws, and so UNAVAILABLE, while the server is
  // still down).
  void EnsureConnected(soci::session& sql) const;
  absl::Status Migrate();

  Dialect dialect_;
  std::unique_ptr<soci::connection_pool> pool_;
  Telemetry* telemetry_;
  const Clock* clock_;
  int schema_version_ = 0;
};

}  // namespace xctl
