// Test support: what PostgreSQL's sessions are doing (pg_stat_activity), so
// a test can wait for a statement to be blocked on a row lock, or for the
// server to have ended a session, instead of sleeping and hoping.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace soci {
class session;
}

namespace xctl::testing {

// A session of its own on the test database `url`.
class PgActivity {
 public:
  explicit PgActivity(const std::string& url);
  ~PgActivity();

  // Sessions of this database waiting for a lock whose statement contains
  // `query_part`.
  int LockWaiters(absl::string_view query_part);
  // Sessions of this database in state `state` ("idle in transaction").
  int InState(absl::string_view state);
  // Polls `count()` every 5 ms until it is at least `want` (true) or
  // `limit` passed (false). The time it waits is the server's, not a guess.
  template <typename F>
  bool AwaitAtLeast(F count, int want, absl::Duration limit = absl::Seconds(20));
  // Runs one statement (BEGIN, UPDATE ..., COMMIT) on this session. Count
  // on another: inside a transaction pg_stat_activity is read only once.
  void Exec(const std::string& sql);

 private:
  bool Await(const std::function<bool()>& done, absl::Duration limit);
  // Sessions of this database matching `condition` (SQL, with :v bound to
  // `value`).
  int Count(const std::string& condition, absl::string_view value);
  std::unique_ptr<soci::session> session_;
};

template <typename F>
bool PgActivity::AwaitAtLeast(F count, int want, absl::Duration limit) {
  return Await([&] { return count() >= want; }, limit);
}

}  // namespace xctl::testing
