#include "server/price/funding_rates.h"

#include <algorithm>

namespace xctl {

void FundingRateCache::Put(const FundingRate& rate) {
  absl::MutexLock lock(&mu_);
  std::deque<FundingRate>& list = by_pair_[rate.pair];
  auto it = std::lower_bound(list.begin(), list.end(), rate.funding_time_ms,
                             [](const FundingRate& r, int64_t t) { return r.funding_time_ms < t; });
  if (it != list.end() && it->funding_time_ms == rate.funding_time_ms) {
    *it = rate;
  } else {
    list.insert(it, rate);
  }
  while (list.size() > kKept) list.pop_front();
}

std::vector<FundingRate> FundingRateCache::Settlements(absl::string_view pair, int64_t after_ms,
                                                       int64_t until_ms) const {
  std::vector<FundingRate> out;
  absl::MutexLock lock(&mu_);
  auto it = by_pair_.find(pair);
  if (it == by_pair_.end()) return out;
  for (const FundingRate& r : it->second) {
    if (r.funding_time_ms > after_ms && r.funding_time_ms <= until_ms) out.push_back(r);
  }
  return out;
}

std::optional<FundingRate> FundingRateCache::Current(absl::string_view pair) const {
  absl::MutexLock lock(&mu_);
  auto it = by_pair_.find(pair);
  if (it == by_pair_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

}  // namespace xctl
