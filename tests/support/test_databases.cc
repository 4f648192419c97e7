#include "tests/support/test_databases.h"

#include <soci/soci.h>
#include <soci/postgresql/soci-postgresql.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/store/store.h"
#include "tests/support/subprocess.h"

namespace xctl::testing {
namespace {

// Replaces the database name (the path) of a postgresql:// URL.
std::string WithDatabase(const std::string& url, const std::string& db) {
  size_t scheme = url.find("://");
  size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  size_t query = url.find('?');
  std::string base = slash == std::string::npos ? url : url.substr(0, slash);
  std::string rest = query == std::string::npos ? "" : url.substr(query);
  return absl::StrCat(base, "/", db, rest);
}

}  // namespace

bool TestDatabase::PostgresRequired() {
  const char* v = std::getenv("XCTL_REQUIRE_PG");
  return v && std::string(v) == "1";
}

TestDatabase::TestDatabase(const std::string& backend) {
  static std::atomic<int> counter{0};
  if (backend == "sqlite") {
    url_ = "sqlite:" + MakeTempDir("db") + "/xctl.db";
    return;
  }
  const char* base = std::getenv("XCTL_TEST_PG_URL");
  if (!base || !*base) {
    skip_reason_ = "XCTL_TEST_PG_URL is not set (scripts/test starts PostgreSQL and sets it)";
    return;
  }
  admin_url_ = base;
  pg_name_ = absl::StrCat("xctl_test_", getpid(), "_", counter++, "_",
                          absl::ToUnixMicros(absl::Now()) % 1000000);
  try {
    soci::session admin(soci::postgresql, PostgresConnInfo(admin_url_).value());
    admin << "CREATE DATABASE " << pg_name_;
    url_ = WithDatabase(admin_url_, pg_name_);
  } catch (const std::exception& e) {
    skip_reason_ = absl::StrCat("cannot create a PostgreSQL test database: ", e.what());
    pg_name_.clear();
  }
}

TestDatabase::~TestDatabase() {
  if (pg_name_.empty()) return;
  try {
    soci::session admin(soci::postgresql, PostgresConnInfo(admin_url_).value());
    admin << "DROP DATABASE IF EXISTS " << pg_name_ << " WITH (FORCE)";
  } catch (...) {
  }
}

}  // namespace xctl::testing
