#include "server/store/row_codecs.h"

namespace xctl::store_internal {

absl::StatusOr<Decimal> ParseStored(const std::string& s, absl::string_view column) {
  auto d = Decimal::Parse(s);
  if (!d.ok()) {
    return absl::DataLossError(absl::StrCat("stored ", column, " is not a decimal: ", s));
  }
  return *d;
}

}  // namespace xctl::store_internal
