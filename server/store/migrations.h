// The schema migrations embedded from db/ at build time (internal).
#pragma once

#include <vector>

namespace xctl::store_internal {

struct Migration {
  int version;
  const char* name;
  const char* sqlite_sql;
  const char* postgresql_sql;
};

// Ordered by version.
const std::vector<Migration>& Migrations();

}  // namespace xctl::store_internal
