#include "server/store/sql_errors.h"

#include <soci/soci.h>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "server/common/log.h"
#include "server/common/error_reason.h"

namespace xctl::store_internal {
namespace {

// SQLite's primary result codes (sqlite3.h) for a full disk and an I/O error.
constexpr int kSqliteFull = 13;
constexpr int kSqliteIoErr = 10;

// The database's message on one line: libpq's run over several (ERROR,
// DETAIL, HINT, a tab-indented "Is the server running on that host...").
std::string OneLine(absl::string_view text) {
  std::string out;
  bool space = false;
  for (char c : absl::StripAsciiWhitespace(text)) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// The first line only (the ERROR line of a PostgreSQL message, without the
// DETAIL that may quote values), for messages that reach callers.
std::string FirstLine(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  return OneLine(text.substr(0, text.find('\n')));
}

bool LostConnection(const soci::soci_error& e, absl::string_view msg,
                    absl::string_view sqlstate) {
  if (e.get_error_category() == soci::soci_error::connection_error) return true;
  // 08: connection exception; 57P01-57P03: admin shutdown, crash shutdown,
  // cannot connect now (starting up or shutting down); 53300: too many
  // connections.
  if (absl::StartsWith(sqlstate, "08") || absl::StartsWith(sqlstate, "57P") ||
      sqlstate == "53300") {
    return true;
  }
  for (absl::string_view needle :
       {"server closed the connection", "no connection to the server", "could not connect",
        "Connection refused", "connection to server", "terminating connection",
        "could not receive data", "could not send data", "SSL SYSCALL", "SSL connection has been",
        "Connection reset", "database system is", "Session is not connected",
        "connection not open", "too many clients"}) {
    if (absl::StrContains(msg, needle)) return true;
  }
  return false;
}

}  // namespace

absl::Status CurrentExceptionToStatus(absl::string_view what) {
  try {
    throw;
  } catch (const soci::soci_error& e) {
    const std::string raw = e.get_error_message();
    const std::string msg = OneLine(raw);
    std::string sqlstate;
    if (auto* pg = dynamic_cast<const soci::postgresql_soci_error*>(&e)) {
      sqlstate = pg->sqlstate();
    }
    int sqlite_result = -1;
    if (auto* lite = dynamic_cast<const soci::sqlite3_soci_error*>(&e)) {
      sqlite_result = lite->result() & 0xff;
    }
    bool unique = sqlstate == "23505" || absl::StrContains(msg, "UNIQUE constraint failed") ||
                  absl::StrContains(msg, "duplicate key");
    if (unique) {
      return absl::AlreadyExistsError(absl::StrCat(what, ": already exists (", FirstLine(raw), ")"));
    }
    // Faults of the database rather than of the call: UNAVAILABLE (retry
    // later, the same client order id trades once) with one line that
    // names no host or port; the database's own words go to the log.
    auto unavailable = [&](absl::string_view kind, absl::string_view message) {
      spdlog::warn("event=database_error kind={} during={} sqlstate={} detail={}", kind, what,
                   sqlstate.empty() ? "-" : sqlstate, LogQuote(msg));
      return WithReason(absl::UnavailableError(absl::StrCat(message, " (details in the xctld log)")),
                        reason::kDatabaseUnavailable);
    };
    if (sqlite_result == kSqliteFull || absl::StrContains(msg, "database or disk is full")) {
      return unavailable("full", absl::StrCat("database full during ", what,
                                              ": the disk holding the database has no space "
                                              "left; free some and retry"));
    }
    if (sqlite_result == kSqliteIoErr || absl::StrContains(msg, "disk I/O error")) {
      return unavailable("io", absl::StrCat("database write failed during ", what,
                                            ": the disk holding the database reported an I/O "
                                            "error (is it full or failing?); retry"));
    }
    if (LostConnection(e, msg, sqlstate)) {
      return unavailable("connection", absl::StrCat("database unavailable during ", what,
                                                    ": the connection to the database failed "
                                                    "or was lost; retry, xctld reconnects"));
    }
    if (absl::StrContains(msg, "database is locked")) {
      return unavailable("busy", absl::StrCat("database busy during ", what,
                                              ": another writer held it for more than 5 s; "
                                              "retry"));
    }
    if (e.get_error_category() == soci::soci_error::constraint_violation ||
        absl::StartsWith(sqlstate, "23") || absl::StrContains(msg, "constraint failed")) {
      return absl::FailedPreconditionError(absl::StrCat(what, ": ", FirstLine(raw)));
    }
    spdlog::error("event=database_error kind=other during={} sqlstate={} detail={}", what,
                  sqlstate.empty() ? "-" : sqlstate, LogQuote(msg));
    return absl::InternalError(absl::StrCat(what, ": database error: ", FirstLine(raw)));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(what, ": ", OneLine(e.what())));
  } catch (...) {
    return absl::InternalError(absl::StrCat(what, ": unknown error"));
  }
}

}  // namespace xctl::store_internal
