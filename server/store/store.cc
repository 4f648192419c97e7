#include "server/store/store.h"

#include <soci/soci.h>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/common/log.h"
#include "server/common/status_macros.h"
#include "server/store/fence_check.h"
#include "server/store/migrations.h"
#include "server/store/sql_errors.h"

namespace xctl {
namespace {

using store_internal::Guard;

constexpr long long kMigrationLockKey = 7206474;  // pg_advisory_xact_lock key

// Splits migration text into statements (each ends with ";" at a line end)
// and drops chunks that hold only comments.
std::vector<std::string> Statements(absl::string_view sql) {
  std::vector<std::string> out;
  std::string current;
  for (absl::string_view line : absl::StrSplit(sql, '\n')) {
    absl::string_view trimmed = absl::StripAsciiWhitespace(line);
    if (absl::StartsWith(trimmed, "--") || trimmed.empty()) continue;
    absl::StrAppend(&current, line, "\n");
    if (absl::EndsWith(trimmed, ";")) {
      out.push_back(std::string(absl::StripSuffix(absl::StripAsciiWhitespace(current), ";")));
      current.clear();
    }
  }
  if (!absl::StripAsciiWhitespace(current).empty()) out.push_back(current);
  return out;
}

void TryRollback(soci::session& sql) {
  try {
    sql << "ROLLBACK";
  } catch (...) {
  }
}

void ReconnectQuietly(soci::session& sql) {
  try {
    sql.reconnect();
  } catch (...) {
  }
}

// After a lost connection, reconnect so the pooled session works again.
void MaybeReconnect(soci::session& sql, const absl::Status& status) {
  if (status.code() != absl::StatusCode::kUnavailable) return;
  ReconnectQuietly(sql);
}

// The SQLite file's folder: the missing folders of its path are created
// 0700 (existing ones are left as they are). The database holds every
// strategy's orders and, encrypted, its credentials: nobody else's business.
absl::Status MakePrivateFolders(const std::filesystem::path& folder) {
  if (folder.empty()) return absl::OkStatus();
  std::error_code ec;
  if (std::filesystem::exists(folder, ec)) return absl::OkStatus();
  XCTL_RETURN_IF_ERROR(MakePrivateFolders(folder.parent_path()));
  if (mkdir(folder.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::FailedPreconditionError(absl::StrCat("cannot create the folder \"",
                                                      folder.string(), "\" for the database: ",
                                                      std::strerror(errno)));
  }
  spdlog::info("event=database_folder_created path={} mode=0700", LogQuote(folder.string()));
  return absl::OkStatus();
}

// A new SQLite file is created here, 0600, before SQLite opens it: SQLite
// would make it 0644 (umask 022), and it gives the -wal and -shm files the
// mode of the database file. An existing file keeps its mode; a mode open to
// group or others is logged.
absl::Status MakePrivateDatabaseFile(const std::string& path) {
  if (path.empty() || path[0] == ':' || absl::StartsWith(path, "file:")) return absl::OkStatus();
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    const bool ok = fchmod(fd, 0600) == 0;  // whatever the umask
    close(fd);
    if (!ok) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot make the database file \"", path, "\" private (0600): ",
                       std::strerror(errno)));
    }
    return absl::OkStatus();
  }
  if (errno != EEXIST) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot create the database file \"", path, "\": ", std::strerror(errno)));
  }
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0) {
    spdlog::warn("event=database_file_permissions path={} mode={:o} advice={}", LogQuote(path),
                 st.st_mode & 0777,
                 LogQuote(absl::StrCat("chmod 600 ", path, " (and its -wal and -shm files)")));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> PostgresConnInfo(const std::string& url) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  if (!options) {
    std::string why = error ? std::string(absl::StripAsciiWhitespace(error)) : "unknown error";
    if (error) PQfreemem(error);
    return absl::InvalidArgumentError(
        absl::StrCat("invalid PostgreSQL URL \"", RedactUrl(url), "\": ", why));
  }
  std::string out;
  for (PQconninfoOption* o = options; o->keyword; ++o) {
    if (!o->val || !*o->val) continue;
    std::string value;
    for (const char* c = o->val; *c; ++c) {
      if (*c == '\\' || *c == '\'') value += '\\';
      value += *c;
    }
    absl::StrAppend(&out, out.empty() ? "" : " ", o->keyword, "='", value, "'");
  }
  PQconninfoFree(options);
  return out;
}

int Store::LatestSchemaVersion() {
  const auto& all = store_internal::Migrations();
  return all.empty() ? 0 : all.back().version;
}

absl::StatusOr<SociTarget> SociTargetFor(const std::string& url) {
  SociTarget target;
  if (absl::StartsWith(url, "sqlite:")) {
    target.dialect = Dialect::kSqlite;
    target.sqlite_path = std::string(absl::StripPrefix(url, "sqlite:"));
    if (target.sqlite_path.empty()) {
      return absl::InvalidArgumentError("sqlite: needs a file path, as in sqlite:./data/xctl.db");
    }
    if (target.sqlite_path.find('"') != std::string::npos) {
      return absl::InvalidArgumentError("the SQLite path must not contain '\"'");
    }
    target.connect = absl::StrCat("db=\"", target.sqlite_path, "\" timeout=5");
    return target;
  }
  if (absl::StartsWith(url, "postgresql://") || absl::StartsWith(url, "postgres://")) {
    target.dialect = Dialect::kPostgresql;
    XCTL_ASSIGN_OR_RETURN(target.connect, PostgresConnInfo(url));
    return target;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unsupported database URL \"", RedactUrl(url),
      "\": expected sqlite:PATH or postgresql://user:pass@host:port/db"));
}

Store::Store(Dialect dialect, std::unique_ptr<soci::connection_pool> pool,
             const StoreOptions& options)
    : dialect_(dialect),
      pool_(std::move(pool)),
      telemetry_(options.telemetry != nullptr ? options.telemetry : &NoTelemetry()),
      clock_(options.clock != nullptr ? options.clock : &SystemClock()) {}

Store::~Store() = default;

void Store::EnsureConnected(soci::session& sql) const {
  if (dialect_ == Dialect::kPostgresql && !sql.is_connected()) sql.reconnect();
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  const std::string& url = options.url;
  int size = std::max(1, options.pool_size);
  XCTL_ASSIGN_OR_RETURN(SociTarget target, SociTargetFor(url));
  const Dialect dialect = target.dialect;
  const std::string& connect = target.connect;
  if (dialect == Dialect::kSqlite) {
    XCTL_RETURN_IF_ERROR(
        MakePrivateFolders(std::filesystem::path(target.sqlite_path).parent_path()));
    XCTL_RETURN_IF_ERROR(MakePrivateDatabaseFile(target.sqlite_path));
  }

  auto pool = std::make_unique<soci::connection_pool>(size);
  for (int i = 0; i < size; ++i) {
    try {
      soci::session& s = pool->at(i);
      if (dialect == Dialect::kSqlite) {
        s.open(soci::sqlite3, connect);
        s << "PRAGMA journal_mode=WAL";
        s << "PRAGMA busy_timeout=5000";
        s << "PRAGMA foreign_keys=ON";
        s << "PRAGMA synchronous=NORMAL";
      } else {
        s.open(soci::postgresql, connect);
      }
    } catch (const soci::soci_error& e) {
      // One line; libpq's message names host and port (useful at start, to
      // the operator), never the password.
      std::string msg = absl::StrJoin(
          absl::StrSplit(absl::StripAsciiWhitespace(e.get_error_message()),
                         absl::ByAnyChar("\n\t"), absl::SkipWhitespace()),
          " ");
      return absl::UnavailableError(absl::StrCat(
          "cannot open database ", RedactUrl(url), ": ", msg));
    }
  }
  auto store = std::unique_ptr<Store>(new Store(dialect, std::move(pool), options));
  if (absl::Status s = store->Migrate(); !s.ok()) return s;
  spdlog::info("event=store_opened database={} schema_version={} pool={}",
               LogQuote(RedactUrl(url)), store->schema_version_, size);
  return store;
}

absl::Status Store::Migrate() {
  const auto& migrations = store_internal::Migrations();
  const int latest = LatestSchemaVersion();
  while (true) {
    bool applied_one = false;
    absl::Status st = Guard("migration", [&]() -> absl::Status {
      soci::session sql(*pool_);
      sql << (dialect_ == Dialect::kSqlite ? "BEGIN IMMEDIATE" : "BEGIN");
      try {
        if (dialect_ == Dialect::kPostgresql) {
          sql << "SELECT pg_advisory_xact_lock(" << kMigrationLockKey << ")";
        }
        sql << "CREATE TABLE IF NOT EXISTS schema_migrations ("
               "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";
        int current = 0;
        soci::indicator ind;
        sql << "SELECT MAX(version) FROM schema_migrations", soci::into(current, ind);
        if (ind != soci::i_ok) current = 0;
        schema_version_ = current;
        if (current > latest) {
          TryRollback(sql);
          return absl::FailedPreconditionError(absl::StrCat(
              "database schema version ", current, " is newer than this xctld (it knows up to ",
              latest, "); upgrade xctld"));
        }
        for (const auto& m : migrations) {
          if (m.version <= current) continue;
          for (const std::string& stmt :
               Statements(dialect_ == Dialect::kSqlite ? m.sqlite_sql : m.postgresql_sql)) {
            sql << stmt;
          }
          long long now = SystemClock().NowMillis();
          std::string name = m.name;
          int version = m.version;
          sql << "INSERT INTO schema_migrations (version, name, applied_at) VALUES (:v, :n, :t)",
              soci::use(version), soci::use(name), soci::use(now);
          sql << "COMMIT";
          schema_version_ = m.version;
          applied_one = true;
          spdlog::info("event=store_migrated version={} name={}", m.version, m.name);
          return absl::OkStatus();
        }
        sql << "COMMIT";
        return absl::OkStatus();
      } catch (...) {
        TryRollback(sql);
        throw;
      }
    });
    if (!st.ok()) return st;
    if (!applied_one) return absl::OkStatus();
  }
}

absl::Status Store::Transact(absl::FunctionRef<absl::Status(Tx&)> fn, const WriteFence* fence) {
  const absl::Time start = clock_->Now();
  absl::Status status = Guard("transaction", [&]() -> absl::Status {
    soci::session sql(*pool_);
    EnsureConnected(sql);
    const char* begin = dialect_ == Dialect::kSqlite ? "BEGIN IMMEDIATE" : "BEGIN";
    try {
      sql << begin;
    } catch (const soci::soci_error&) {
      // Nothing ran yet: after a lost PostgreSQL connection (the server
      // restarted), reconnect and begin again.
      if (dialect_ != Dialect::kPostgresql) throw;
      sql.reconnect();
      sql << begin;
    }
    Tx tx(sql);
    absl::Status result;
    try {
      if (fence != nullptr) result = store_internal::CheckFence(sql, dialect_, *fence);
      if (result.ok()) result = fn(tx);
    } catch (...) {
      TryRollback(sql);
      throw;
    }
    if (!result.ok()) {
      TryRollback(sql);
      MaybeReconnect(sql, result);
      return result;
    }
    try {
      sql << "COMMIT";
    } catch (...) {
      TryRollback(sql);
      throw;
    }
    return absl::OkStatus();
  });
  telemetry_->StoreTransaction(clock_->Now() - start, status.ok());
  return status;
}

absl::Status Store::Read(absl::FunctionRef<absl::Status(Tx&)> fn) {
  // Reads change nothing, so a read that lost its PostgreSQL connection is
  // tried once more on a fresh one.
  for (int attempt = 0;; ++attempt) {
    absl::Status result = Guard("read", [&]() -> absl::Status {
      soci::session sql(*pool_);
      EnsureConnected(sql);
      Tx tx(sql);
      absl::Status status;
      try {
        status = fn(tx);
      } catch (const soci::soci_error&) {
        if (dialect_ == Dialect::kPostgresql) ReconnectQuietly(sql);
        throw;
      }
      MaybeReconnect(sql, status);
      return status;
    });
    if (result.code() != absl::StatusCode::kUnavailable || attempt > 0 ||
        dialect_ != Dialect::kPostgresql) {
      return result;
    }
  }
}

absl::Status Store::Ping() {
  return Guard("ping", [&]() -> absl::Status {
    soci::session sql(*pool_);
    EnsureConnected(sql);
    try {
      int one = 0;
      sql << "SELECT 1", soci::into(one);
    } catch (const soci::soci_error&) {
      if (dialect_ == Dialect::kPostgresql) ReconnectQuietly(sql);
      throw;
    }
    return absl::OkStatus();
  });
}

}  // namespace xctl
