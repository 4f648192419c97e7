#include "server/store/row_queries.h"

#include <vector>

#include "absl/strings/str_join.h"

namespace xctl::store_internal {

std::string InList(absl::string_view prefix, size_t n) {
  std::vector<std::string> names;
  for (size_t i = 0; i < n; ++i) names.push_back(absl::StrCat(":", prefix, i));
  return absl::StrCat("(", absl::StrJoin(names, ", "), ")");
}

absl::Status CheckAffected(soci::statement& st, absl::string_view what) {
  if (st.get_affected_rows() == 0) return absl::NotFoundError(absl::StrCat(what, " not found"));
  return absl::OkStatus();
}

}  // namespace xctl::store_internal
