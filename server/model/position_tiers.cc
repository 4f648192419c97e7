#include "server/model/position_tiers.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace xctl {
namespace {

Decimal D(absl::string_view text) { return *Decimal::Parse(text); }

// Tiers of `first` contracts each widening band: sizes first x {1, 2, 4, 10,
// 20, 50, beyond}, with `rates` and `leverages` (seven each).
std::vector<MarginTier> Ladder(Decimal first, const std::vector<absl::string_view>& rates,
                               const std::vector<int>& leverages) {
  static const int kBands[] = {1, 2, 4, 10, 20, 50};
  std::vector<MarginTier> out;
  Decimal low;
  for (size_t i = 0; i < rates.size(); ++i) {
    Decimal high = i < std::size(kBands) ? Decimal::Mul(first, Decimal::FromInt(kBands[i])) : Decimal::Max();
    out.push_back(MarginTier{.min_size = low, .max_size = high,
                             .maintenance_margin_rate = D(rates[i]),
                             .max_leverage = Decimal::FromInt(leverages[i])});
    low = high;
  }
  return out;
}

const std::vector<absl::string_view> kMajorRates = {"0.004", "0.005", "0.01", "0.02",
                                                    "0.05",  "0.1",   "0.25"};
const std::vector<int> kMajorLeverage = {125, 100, 50, 25, 10, 5, 2};
const std::vector<absl::string_view> kAltRates = {"0.007", "0.01", "0.02", "0.04",
                                                  "0.1",   "0.2",  "0.25"};
const std::vector<int> kAltLeverage = {75, 50, 25, 12, 5, 2, 2};

std::string Key(absl::string_view symbol, absl::string_view margin_mode) {
  return absl::StrCat(symbol, "/", margin_mode);
}

// The rate of the tier holding `size` (the next tier when it falls between
// two; the last when beyond all).
Decimal RateFor(const std::vector<MarginTier>& tiers, Decimal size) {
  for (const MarginTier& t : tiers) {
    if (size <= t.max_size) return t.maintenance_margin_rate;
  }
  return tiers.back().maintenance_margin_rate;
}

}  // namespace

std::vector<MarginTier> DefaultTiers(const Instrument& instrument) {
  const absl::string_view s = instrument.symbol;
  if (s == "BTC-USDT") return Ladder(D("150"), kMajorRates, kMajorLeverage);
  if (s == "ETH-USDT") return Ladder(D("1500"), kMajorRates, kMajorLeverage);
  if (s == "SOL-USDT") return Ladder(D("500"), kAltRates, kAltLeverage);
  if (s == "XRP-USDT") return Ladder(D("5000"), kAltRates, kAltLeverage);
  if (s == "DOGE-USDT") return Ladder(D("2000"), kAltRates, kAltLeverage);
  // Unknown symbol: one tier at half the initial margin of its maximum leverage.
  Decimal leverage = instrument.max_leverage.is_positive() ? instrument.max_leverage
                                                           : Decimal::FromInt(1);
  return {MarginTier{.min_size = Decimal(), .max_size = Decimal::Max(),
                     .maintenance_margin_rate = Decimal::Div(Decimal::FromInt(1),
                                                             Decimal::Mul(leverage, Decimal::FromInt(2))),
                     .max_leverage = leverage}};
}

Decimal MaintenanceMarginRate(const std::vector<MarginTier>& tiers, const Instrument& instrument,
                              Decimal contracts) {
  if (tiers.empty()) return Decimal();
  const Decimal base = Decimal::Mul(contracts, instrument.contract_value);
  return std::max(RateFor(tiers, contracts), RateFor(tiers, base));
}

void TierCatalog::Put(absl::string_view symbol, absl::string_view margin_mode,
                      std::vector<MarginTier> tiers) {
  std::sort(tiers.begin(), tiers.end(), [](const MarginTier& a, const MarginTier& b) {
    return a.max_size < b.max_size;
  });
  absl::MutexLock lock(&mu_);
  by_key_[Key(symbol, margin_mode)] = std::move(tiers);
}

std::vector<MarginTier> TierCatalog::Get(const Instrument& instrument,
                                         absl::string_view margin_mode) const {
  {
    absl::MutexLock lock(&mu_);
    auto it = by_key_.find(Key(instrument.symbol, margin_mode));
    if (it != by_key_.end() && !it->second.empty()) return it->second;
  }
  return DefaultTiers(instrument);
}

}  // namespace xctl
