#include "tests/support/pg_activity.h"

#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>

#include <functional>

#include "absl/time/clock.h"
#include "server/store/store.h"

namespace xctl::testing {

PgActivity::PgActivity(const std::string& url) : session_(std::make_unique<soci::session>()) {
  session_->open(soci::postgresql, PostgresConnInfo(url).value());
}

PgActivity::~PgActivity() = default;

int PgActivity::Count(const std::string& condition, absl::string_view value) {
  std::string v(value);
  int n = 0;
  *session_ << "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND " +
                   condition,
      soci::use(v, "v"), soci::into(n);
  return n;
}

int PgActivity::LockWaiters(absl::string_view query_part) {
  return Count("wait_event_type = 'Lock' AND strpos(query, :v) > 0", query_part);
}

int PgActivity::InState(absl::string_view state) { return Count("state = :v", state); }

void PgActivity::Exec(const std::string& sql) { *session_ << sql; }

bool PgActivity::Await(const std::function<bool()>& done, absl::Duration limit) {
  const absl::Time end = absl::Now() + limit;
  while (absl::Now() < end) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return done();
}

}  // namespace xctl::testing
