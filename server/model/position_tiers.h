// Position tiers: the maintenance margin rate of a position by its size, per
// instrument and margin mode (index.md, "GET Position Tiers": minSize,
// maxSize, maintenanceMarginRate, maxLeverage). Loaded from BloFin with the
// live instrument catalog when prices come from BloFin; otherwise built-in
// tables per built-in instrument (DefaultTiers: an assumption, stated in
// docs/exchanges.md, "Paper liquidation"). Thread-safe.
#pragma once

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/common/decimal.h"
#include "server/model/types.h"

namespace xctl {

struct MarginTier {
  Decimal min_size;
  Decimal max_size;
  Decimal maintenance_margin_rate;
  Decimal max_leverage;
};

// The built-in tiers of `instrument.symbol` (BTC-USDT's first tier is the
// docs' example: up to 150, 0.4%, 125x); a symbol without a table gets a
// generic ladder whose first rate is 1 / (2 x max leverage).
std::vector<MarginTier> DefaultTiers(const Instrument& instrument);

// The rate for a position of `contracts` contracts of `instrument`. The docs
// do not say whether minSize/maxSize count contracts or the base currency,
// so the size is looked up both ways and the higher rate wins; a size above
// the last tier takes the last tier's rate, one between tiers the next
// tier's (never the kinder one).
Decimal MaintenanceMarginRate(const std::vector<MarginTier>& tiers, const Instrument& instrument,
                              Decimal contracts);

class TierCatalog {
 public:
  // Replaces the tiers of (symbol, margin mode "cross" / "isolated").
  void Put(absl::string_view symbol, absl::string_view margin_mode,
           std::vector<MarginTier> tiers);
  // The loaded tiers, else DefaultTiers(instrument).
  std::vector<MarginTier> Get(const Instrument& instrument, absl::string_view margin_mode) const;

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::vector<MarginTier>> by_key_ ABSL_GUARDED_BY(mu_);
};

}  // namespace xctl
