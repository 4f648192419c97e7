// PriceView: read access to the latest cached price of a pair. Implemented by
// the PriceModule; the paper exchange and exchange control depend on this
// narrow interface only, so tests can hand them a fixed price table.
#pragma once

#include "absl/strings/string_view.h"
#include "server/price/tick.h"

namespace xctl {

class PriceView {
 public:
  virtual ~PriceView() = default;
  // The latest tick of `pair`, or nullptr when none has arrived (or the pair
  // is not configured). The tick's `stale` flag says whether it is current.
  virtual TickPtr Latest(absl::string_view pair) const = 0;
};

}  // namespace xctl
