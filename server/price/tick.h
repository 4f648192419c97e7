// Tick: the latest known price of one pair, as the price module caches and
// publishes it. Immutable once published (shared as shared_ptr<const Tick>).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "server/common/decimal.h"

namespace xctl {

struct Tick {
  // BloFin instrument id, "BTC-USDT".
  std::string pair;
  // Best bid / ask; absent when the source has no book (then use `last`).
  std::optional<Decimal> bid;
  std::optional<Decimal> ask;
  Decimal last;
  // When the exchange produced the price (UTC ms since epoch).
  int64_t exchange_time_ms = 0;
  // When xctl received it (UTC ms since epoch).
  int64_t receive_time_ms = 0;
  // Per pair, +1 each time the cached tick changes (set by the PriceModule).
  uint64_t sequence = 0;
  // No update for the configured number of intervals; prices are the last
  // good ones (set by the PriceModule).
  bool stale = false;
  // When the PriceModule published it, on this process's steady clock (µs;
  // SteadyMicros). In process only, for latency figures; 0 when unknown.
  int64_t published_steady_us = 0;

  // The price a market order on `buy` side would fill at: the ask for a buy,
  // the bid for a sell, the last price when there is no book.
  Decimal FillPrice(bool buy) const {
    if (buy && ask) return *ask;
    if (!buy && bid) return *bid;
    return last;
  }
  // Same prices (ignores timestamps, sequence and staleness).
  bool SamePrices(const Tick& o) const {
    return bid == o.bid && ask == o.ask && last == o.last;
  }
};

using TickPtr = std::shared_ptr<const Tick>;

// Microseconds on the steady (monotonic) clock, for in-process latencies.
inline int64_t SteadyMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace xctl
