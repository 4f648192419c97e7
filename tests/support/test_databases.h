// Test support: databases for the suites that run on both backends. A
// SQLite file in a fresh temp folder, or a fresh PostgreSQL database created
// on the server named by XCTL_TEST_PG_URL and dropped at the end. Without
// that variable PostgreSQL cases skip, unless XCTL_REQUIRE_PG=1 (set by
// scripts/test and CI) makes them fail.
#pragma once

#include <string>

namespace xctl::testing {

// A database for one test; the destructor drops PostgreSQL databases.
class TestDatabase {
 public:
  // `backend` is "sqlite" or "postgresql".
  explicit TestDatabase(const std::string& backend);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  // Empty when unavailable (then skip_reason() says why).
  const std::string& url() const { return url_; }
  const std::string& skip_reason() const { return skip_reason_; }
  // True when a missing PostgreSQL must fail the test instead of skipping.
  static bool PostgresRequired();

 private:
  std::string url_;
  std::string skip_reason_;
  std::string admin_url_;
  std::string pg_name_;
};

}  // namespace xctl::testing

// In a test body: obtains a database or skips / fails as the environment says.
#define XCTL_REQUIRE_DATABASE(db)                                         \
  do {                                                                    \
    if ((db).url().empty()) {                                             \
      if (::xctl::testing::TestDatabase::PostgresRequired()) {            \
        FAIL() << (db).skip_reason();                                     \
      }                                                                   \
      GTEST_SKIP() << (db).skip_reason();                                 \
    }                                                                     \
  } while (false)
