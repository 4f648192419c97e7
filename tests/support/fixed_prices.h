// Test support: a PriceView over a table the test sets, for the exchanges
// and exchange control (the real PriceModule implements the same interface).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "server/price/price_view.h"

namespace xctl::testing {

class FixedPrices : public PriceView {
 public:
  // Sets the latest tick of `pair`; "" bid/ask means no book.
  TickPtr Set(const std::string& pair, absl::string_view bid, absl::string_view ask,
              absl::string_view last, bool stale = false) {
    auto tick = std::make_shared<Tick>();
    tick->pair = pair;
    if (!bid.empty()) tick->bid = Decimal::Parse(bid).value();
    if (!ask.empty()) tick->ask = Decimal::Parse(ask).value();
    tick->last = Decimal::Parse(last).value();
    tick->stale = stale;
    absl::MutexLock lock(&mu_);
    tick->sequence = ++sequence_;
    ticks_[pair] = tick;
    return tick;
  }
  void Remove(const std::string& pair) {
    absl::MutexLock lock(&mu_);
    ticks_.erase(pair);
  }
  TickPtr Latest(absl::string_view pair) const override {
    absl::MutexLock lock(&mu_);
    auto it = ticks_.find(std::string(pair));
    return it == ticks_.end() ? nullptr : it->second;
  }

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, TickPtr> ticks_;
  uint64_t sequence_ = 0;
};

}  // namespace xctl::testing
