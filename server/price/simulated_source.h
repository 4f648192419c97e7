// SimulatedSource: a seeded random walk per pair with a realistic spread, for
// demos and tests. The same seed gives the same prices, whatever the order of
// the pairs. Needs no network.
#pragma once

#include <random>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "server/common/clock.h"
#include "server/price/price_source.h"

namespace xctl {

class SimulatedSource : public PriceSource {
 public:
  // `volatility` is the standard deviation of one step's log return.
  explicit SimulatedSource(uint64_t seed, Clock& clock = SystemClock(),
                           double volatility = 0.0005);

  absl::string_view name() const override { return "simulated"; }
  absl::StatusOr<std::vector<Tick>> Fetch(const std::vector<std::string>& pairs) override;

  // The price a pair starts at (BTC 64000, ETH 3200, SOL 150, others 100).
  static double StartPrice(absl::string_view pair);

 private:
  struct Walk {
    double mid;
    std::mt19937_64 rng;
  };
  uint64_t seed_;
  Clock& clock_;
  double volatility_;
  absl::flat_hash_map<std::string, Walk> walks_;
};

}  // namespace xctl
