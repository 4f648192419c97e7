#include "server/store/sql_errors.h"

#include <soci/soci.h>
#include <soci/postgresql/soci-postgresql.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace xctl::store_internal {

absl::Status CurrentExceptionToStatus(absl::string_view what) {
  try {
    throw;
  } catch (const soci::soci_error& e) {
    std::string msg(absl::StripAsciiWhitespace(e.get_error_message()));
    std::string sqlstate;
    if (auto* pg = dynamic_cast<const soci::postgresql_soci_error*>(&e)) {
      sqlstate = pg->sqlstate();
    }
    bool unique = sqlstate == "23505" || absl::StrContains(msg, "UNIQUE constraint failed") ||
                  absl::StrContains(msg, "duplicate key");
    if (unique) return absl::AlreadyExistsError(absl::StrCat(what, ": already exists (", msg, ")"));
    bool connection = e.get_error_category() == soci::soci_error::connection_error ||
                      absl::StartsWith(sqlstate, "08") || sqlstate == "57P01" ||
                      absl::StrContains(msg, "server closed the connection") ||
                      absl::StrContains(msg, "no connection to the server") ||
                      absl::StrContains(msg, "could not connect") ||
                      absl::StrContains(msg, "Connection refused");
    if (connection) {
      return absl::UnavailableError(absl::StrCat("database unavailable during ", what, ": ", msg));
    }
    if (absl::StrContains(msg, "database is locked")) {
      return absl::UnavailableError(absl::StrCat("database busy during ", what, ": ", msg));
    }
    if (e.get_error_category() == soci::soci_error::constraint_violation ||
        absl::StartsWith(sqlstate, "23") || absl::StrContains(msg, "constraint failed")) {
      return absl::FailedPreconditionError(absl::StrCat(what, ": ", msg));
    }
    return absl::InternalError(absl::StrCat(what, ": database error: ", msg));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(what, ": ", e.what()));
  } catch (...) {
    return absl::InternalError(absl::StrCat(what, ": unknown error"));
  }
}

}  // namespace xctl::store_internal
