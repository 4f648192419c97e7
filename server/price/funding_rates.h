// Funding rates of perpetual pairs, next to the price cache (docs/price.md,
// "Funding rates"). The price module fills a FundingRateCache from its
// source when the source has funding (BloFin: index.md, "GET Funding Rate");
// the simulated and replay sources have none, so the cache stays empty and
// nothing settles. Consumers (the paper exchange) read it through
// FundingRateView.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/common/decimal.h"

namespace xctl {

// One funding rate as BloFin publishes it: `rate` applies at the settlement
// `funding_time_ms` (BloFin's fundingTime, the next settlement when read
// from GET Funding Rate).
struct FundingRate {
  std::string pair;
  Decimal rate;
  int64_t funding_time_ms = 0;
  int64_t fetch_time_ms = 0;  // when xctl read it (the latest read wins)
  bool operator==(const FundingRate&) const = default;
};

class FundingRateView {
 public:
  virtual ~FundingRateView() = default;
  // The known settlements of `pair` with after_ms < funding time <=
  // until_ms, oldest first, each with the last rate read for it before it
  // was replaced by the next settlement's.
  virtual std::vector<FundingRate> Settlements(absl::string_view pair, int64_t after_ms,
                                               int64_t until_ms) const = 0;
  // The latest rate read for `pair` (the upcoming settlement), if any.
  virtual std::optional<FundingRate> Current(absl::string_view pair) const = 0;
};

// Keeps the last kKept settlements per pair. Thread-safe.
class FundingRateCache final : public FundingRateView {
 public:
  static constexpr size_t kKept = 8;

  // Records `rate` (replacing the rate of the same settlement time; older
  // settlements beyond kKept are dropped).
  void Put(const FundingRate& rate);

  std::vector<FundingRate> Settlements(absl::string_view pair, int64_t after_ms,
                                       int64_t until_ms) const override;
  std::optional<FundingRate> Current(absl::string_view pair) const override;

 private:
  mutable absl::Mutex mu_;
  // By pair: settlements in time order.
  absl::flat_hash_map<std::string, std::deque<FundingRate>> by_pair_ ABSL_GUARDED_BY(mu_);
};

}  // namespace xctl
