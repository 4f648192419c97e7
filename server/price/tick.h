// Tick: the latest known price of one pair, as the price module caches and
// publishes it. Immutable once published (shared as shared_ptr<const Tick>).
#pragma once

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

}  // namespace xctl
