#include "server/price/simulated_source.h"

#include <cmath>

#include "absl/hash/hash.h"
#include "absl/strings/match.h"

namespace xctl {
namespace {

// Rounds `price` to a tick of about 5 significant digits (64000 -> 0.1).
Decimal ToTick(double price, double tick) {
  double rounded = std::round(price / tick) * tick;
  return Decimal::FromUnits(static_cast<int64_t>(std::llround(rounded * Decimal::kOne)));
}

double TickFor(double price) {
  return std::pow(10.0, std::floor(std::log10(price)) - 5);
}

// A stable 64-bit hash of the pair name (not absl::Hash, which is salted
// per process).
uint64_t StableHash(absl::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace

SimulatedSource::SimulatedSource(uint64_t seed, Clock& clock, double volatility)
    : seed_(seed), clock_(clock), volatility_(volatility) {}

double SimulatedSource::StartPrice(absl::string_view pair) {
  if (absl::StartsWith(pair, "BTC-")) return 64000;
  if (absl::StartsWith(pair, "ETH-")) return 3200;
  if (absl::StartsWith(pair, "SOL-")) return 150;
  return 100;
}

absl::StatusOr<std::vector<Tick>> SimulatedSource::Fetch(
    const std::vector<std::string>& pairs) {
  std::vector<Tick> out;
  out.reserve(pairs.size());
  int64_t now = clock_.NowMillis();
  for (const std::string& pair : pairs) {
    auto it = walks_.find(pair);
    if (it == walks_.end()) {
      it = walks_.emplace(pair, Walk{StartPrice(pair),
                                     std::mt19937_64(seed_ ^ StableHash(pair))})
               .first;
    }
    Walk& w = it->second;
    std::normal_distribution<double> step(0.0, volatility_);
    w.mid *= std::exp(step(w.rng));
    double tick = TickFor(w.mid);
    double half_spread = std::max(tick, w.mid * 0.00005);  // ~1 bp wide
    Tick t;
    t.pair = pair;
    t.bid = ToTick(w.mid - half_spread, tick);
    t.ask = ToTick(w.mid + half_spread, tick);
    if (*t.ask <= *t.bid) t.ask = *t.bid + ToTick(tick, tick);
    t.last = ToTick(w.mid, tick);
    t.exchange_time_ms = now;
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace xctl
